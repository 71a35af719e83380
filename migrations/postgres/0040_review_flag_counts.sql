-- Each activity's flag counts, kept by the transactions that raise and decide flags
-- (issue 15): a review page and the live board read them instead of counting every
-- flag, which took 0.14-0.2 s per request for an activity holding 262 667 flags.
-- `flagged_days` counts the distinct (volunteer, local day) pairs with a flag.
create table review_flag_count (
    activity_id bigint constraint review_flag_count_pk primary key
        constraint review_flag_count_activity_fk references activity (id),
    flags bigint not null default 0,
    open_flags bigint not null default 0,
    flagged_days bigint not null default 0
);

-- Flags already raised, counted once here.
insert into review_flag_count (activity_id, flags, open_flags, flagged_days)
select f.activity_id,
       count(*),
       sum(case when f.status = 'open' then 1 else 0 end),
       (select count(*) from (select distinct d.volunteer_id, d.local_day from review_flag d
                              where d.activity_id = f.activity_id) as days)
from review_flag f
group by f.activity_id;

-- The board's newest flags, walked backwards instead of sorting all of them.
create index review_flag_raised_ix on review_flag (activity_id, raised_at, id);
