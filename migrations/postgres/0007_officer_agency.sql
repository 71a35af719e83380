-- Which body an officer speaks for: the civil-affairs department of their region, or the
-- Communist Youth League committee, which approves university volunteer groups.
alter table staff add column agency text constraint staff_agency_ck check (agency in ('civil_affairs', 'youth_league'));
update staff set agency = 'civil_affairs' where role = 'officer';
alter table staff add constraint staff_officer_has_agency_ck check ((role = 'officer') = (agency is not null));
