-- One order per volunteer. Each accepted scan at an activity carries the next number in
-- that volunteer's sequence there. The unique index makes two instances that decided on
-- the same state collide; the loser decides again on the state the winner left, so every
-- receipt agrees with the record. Existing accepted scans are numbered in time order.
alter table scan add column seq integer;

update scan s set seq = r.n
from (
    select id, row_number() over (partition by activity_id, volunteer_id order by server_time, id) as n
    from scan
    where activity_id is not null and direction is not null
) r
where s.id = r.id;

create unique index scan_volunteer_order_uq on scan (activity_id, volunteer_id, seq);
