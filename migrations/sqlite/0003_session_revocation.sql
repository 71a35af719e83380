-- Sessions can be revoked (sign-out, sign-out everywhere). A revoked token stays as a row
-- so the list of sessions keeps its history; authentication ignores it.
alter table access_token add column revoked_at integer;
create index access_token_staff_ix on access_token (staff_id) where staff_id is not null;
create index access_token_volunteer_ix on access_token (volunteer_id) where volunteer_id is not null;
