-- Recording a publicity entry, and correcting one, reads the register entry that stands
-- for it (its original or latest replacement). The only index by publicity entry was the
-- partial one on originals, which that read cannot use: each recording scanned the whole
-- register, so advancing publicity slowed as the register grew (issue 15).
create index register_entry_standing_ix on register_entry (publicity_entry_id, seq);
