-- An organisation's past roster imports, listed on its roster desk (issue 16): the file's
-- name as the uploader's browser gave it, and imports refused because of their rows.
-- A refused import registers nobody and links nobody; it is kept (state 'refused', with
-- how many rows were refused) so the desk shows every attempt, not only those that went
-- through. ('refused' is among the states migration 0038 allows.)
alter table roster_import add column file_name text;
alter table roster_import add column refused_rows integer not null default 0;

create index roster_import_organisation_ix on roster_import (organisation_id, id);
