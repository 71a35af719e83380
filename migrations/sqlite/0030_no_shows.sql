-- No-shows recorded (issue 17): when an activity is finalised, the approved sign-ups whose
-- volunteers never came (no accepted scan, no approved late entry) are written down, so
-- the organisation's list of who did not come stays the one taken when the activity's
-- hours were settled, whatever is scanned or changed afterwards. Visible to the
-- activity's organisation only; never published, never exported to others.
-- The record row says that the list was taken (an empty list is a list too). Times are
-- Unix milliseconds.

create table no_show_record (
    activity_id integer constraint no_show_record_pk primary key
        constraint no_show_record_activity_fk references activity (id),
    recorded_by integer not null constraint no_show_record_recorded_by_fk references staff (id),
    recorded_at integer not null
) strict;

create table no_show (
    signup_id integer constraint no_show_pk primary key constraint no_show_signup_fk references signup (id),
    activity_id integer not null constraint no_show_activity_fk references no_show_record (activity_id),
    volunteer_id integer not null constraint no_show_volunteer_fk references volunteer (id)
) strict;

create index no_show_activity_ix on no_show (activity_id);
