-- Recording a publicity entry, and correcting one, reads the register entry that stands
-- for it (its original or latest replacement). The only index by publicity entry was the
-- partial one on originals, which that read cannot use: each recording scanned the whole
-- register, so advancing publicity slowed as the register grew (issue 15).
create index register_entry_standing_ix on register_entry (publicity_entry_id, seq);

-- The entries due are read a page at a time in id order. By (status, ends_on) alone each
-- page read and sorted every entry still in publicity: with 929 000 due, a second a page
-- (BENCHMARKS.md). In this order a page reads only its own rows.
create index publicity_entry_due_ix on publicity_entry (status, id);
