-- Which body an officer speaks for: the civil-affairs department of their region, or the
-- Communist Youth League committee, which approves university volunteer groups. (SQLite
-- cannot add the "officers, and only officers, have one" table check to an existing
-- table; the application enforces it.)
alter table staff add column agency text constraint staff_agency_ck check (agency in ('civil_affairs', 'youth_league'));
update staff set agency = 'civil_affairs' where role = 'officer';
