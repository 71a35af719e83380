-- Recruitment before the day (issue 17): an activity published for sign-up with named
-- slots (roles or shifts) and their places, requirements, a deadline, a cancellation
-- cut-off, and whether approval, a waiting list and walk-ins apply; and each volunteer's
-- sign-up for one slot.
--
-- A slot's places are taken by its `pending` and `approved` sign-ups. Every change to
-- them locks the slot's row first, so the last place goes to exactly one of two volunteers
-- signing up at once, on however many instances; the other is wait-listed.

create table recruitment (
    activity_id bigint constraint recruitment_pk primary key
        constraint recruitment_activity_fk references activity (id),
    signup_deadline timestamptz not null,
    cancel_cutoff timestamptz not null,
    approval_required boolean not null,
    waitlist boolean not null,
    -- Whether volunteers who did not sign up may still scan in on the day (when not, a
    -- check-in needs an approved sign-up).
    walk_ins boolean not null,
    min_age integer constraint recruitment_min_age_ck check (min_age is null or min_age between 1 and 100),
    -- A JSON array of skill names, each of which a volunteer must have registered.
    required_skills text not null default '[]',
    published_by bigint not null constraint recruitment_published_by_fk references staff (id),
    published_at timestamptz not null,
    updated_at timestamptz not null
);

create table recruitment_slot (
    id bigint generated always as identity constraint recruitment_slot_pk primary key,
    activity_id bigint not null constraint recruitment_slot_recruitment_fk references recruitment (activity_id),
    name text not null,
    capacity integer not null constraint recruitment_slot_capacity_ck check (capacity between 1 and 100000),
    position integer not null,
    constraint recruitment_slot_name_uq unique (activity_id, name)
);

create table signup (
    id bigint generated always as identity constraint signup_pk primary key,
    activity_id bigint not null constraint signup_activity_fk references activity (id),
    slot_id bigint not null constraint signup_slot_fk references recruitment_slot (id),
    volunteer_id bigint not null constraint signup_volunteer_fk references volunteer (id),
    status text not null
        constraint signup_status_ck check (status in ('pending', 'approved', 'waitlisted', 'declined', 'cancelled')),
    -- The organiser's reason for a decline (shown to the volunteer).
    reason text,
    decided_by bigint constraint signup_decided_by_fk references staff (id),
    decided_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint signup_declined_reason_ck check (status <> 'declined' or reason is not null)
);

-- One live sign-up per volunteer and activity: a second is refused, whichever slot.
create unique index signup_active_uq on signup (activity_id, volunteer_id)
    where status in ('pending', 'approved', 'waitlisted');
-- Places taken and the waiting list's order, per slot.
create index signup_slot_ix on signup (slot_id, status, id);
create index signup_volunteer_ix on signup (volunteer_id);
