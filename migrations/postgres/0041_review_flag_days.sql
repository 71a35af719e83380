-- A review page lists flagged days in (volunteer, day) order, a page at a time (issue 15).
-- With no index in that order, picking the page's days read and sorted every flag of
-- the activity, and the planner then joined the page back against all of them: 82 ms
-- for an activity holding 90 466 flags, growing with the activity. In this order a page
-- reads only its own days, and raising flags reads the days already flagged per
-- volunteer from it too.
create index review_flag_day_ix on review_flag (activity_id, volunteer_id, local_day);
