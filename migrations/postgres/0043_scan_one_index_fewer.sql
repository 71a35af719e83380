-- Every accepted scan was written into five indexes. `scan_activity_accepted_ix
-- (activity_id, volunteer_id, server_time)` finds nothing that `scan_volunteer_order_uq
-- (activity_id, volunteer_id, seq)` does not (a volunteer's scans at an activity: a handful
-- of rows, sorted by time when read), and `scan_activity_recorded_ix` serves the reads of
-- a whole activity's accepted scans. The group commit paid for the third index on every
-- scan and no read needed it (issue 15, BENCHMARKS.md "One index fewer, one check fewer").
-- Append-only: never edit this file once applied; add a new migration instead.
drop index scan_activity_accepted_ix;
