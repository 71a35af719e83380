-- A live board reads only the scans recorded since it last looked: with one writer, rows
-- are numbered in commit order, so it reads the activity's accepted scans after the last
-- row it saw (`Store::accepted_scans_after`). This index keeps that a range read (an
-- index's entries follow their rowid within one activity).
-- Append-only: never edit this file once applied; add a new migration instead.
create index scan_activity_recorded_ix on scan (activity_id) where direction is not null;
