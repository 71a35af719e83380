-- Which transaction recorded each scan, so a live board reads only the scans recorded
-- since it last looked: a reader keeps the xmin of its snapshot (every transaction before
-- it had finished) and next time reads from there (`Store::accepted_scans_after`).
-- Existing rows keep no value: a board reads everything once when it opens.
-- Append-only: never edit this file once applied; add a new migration instead.
alter table scan add column recorded_by_xact xid8;
alter table scan alter column recorded_by_xact set default pg_current_xact_id();
create index scan_activity_recorded_ix on scan (activity_id, recorded_by_xact) where direction is not null;
