-- A roster import published in slices behind a flag on the import (issue 16).
--
-- On SQLite one writer serves every write. Publishing a 100,000-row roster in one
-- transaction held it for about 5 s, and scans waited past their bound. The publish there
-- now writes the import's volunteers, their paper consents and its roster links 2,000 rows
-- per transaction, each row naming its import, while the import's `state` is
-- 'publishing'; one last short transaction sets it to 'published'. Until then every reader
-- sees none of the import's rows: volunteers are read through `visible_volunteer`, roster
-- links by the import's state. An import that fails part way is set to 'failed' and its
-- rows are deleted in short deletes.
--
-- PostgreSQL still publishes in one transaction and writes 'published' at once: its
-- readers never wait for a writer (MVCC), and a scan's writes touch no row the import
-- writes, so one long transaction stalls nobody. The columns and the view are the same on
-- both engines so that the readers' SQL is.
alter table roster_import add column state text not null default 'published'
    constraint roster_import_state_ck check (state in ('publishing', 'published', 'failed', 'refused'));
-- The staging key of the import's rows, so that an import cut off can be found by it.
alter table roster_import add column staging_key text;

-- The import that registered a volunteer (none for those who registered themselves).
alter table volunteer add column roster_import_id bigint constraint volunteer_roster_import_fk references roster_import (id);

create index volunteer_roster_import_ix on volunteer (roster_import_id) where roster_import_id is not null;
create index consent_roster_import_ix on consent (roster_import_id) where roster_import_id is not null;
create index roster_member_import_ix on roster_member (roster_import_id);
create index roster_import_state_ix on roster_import (state) where state <> 'published';

-- Volunteers as every reader sees them: not those of an import still publishing or failed.
-- `v.*` is expanded when the view is made: a column added to `volunteer` later must be
-- added here too (create or replace view), or reading it through the view fails loudly.
create view visible_volunteer as
    select v.* from volunteer v
    where v.roster_import_id is null
       or exists (select 1 from roster_import i where i.id = v.roster_import_id and i.state = 'published');
