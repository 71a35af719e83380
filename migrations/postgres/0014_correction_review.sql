-- A correction of a finalised session is proposed by one qualified recorder and decided by
-- another (as a late entry is). An approved correction is published again for the full
-- period, and only when that period ends without objection does the register take it.

create table session_correction_proposal (
    id bigint generated always as identity constraint session_correction_proposal_pk primary key,
    activity_id bigint not null,
    volunteer_id bigint not null,
    local_day text not null,
    from_minutes integer not null,
    to_minutes integer not null,
    reason text not null,
    proposed_by bigint not null constraint session_correction_proposal_proposer_fk references staff (id),
    proposed_at timestamptz not null,
    status text not null default 'proposed'
        constraint session_correction_proposal_status_ck check (status in ('proposed', 'approved', 'rejected')),
    decided_by bigint constraint session_correction_proposal_decider_fk references staff (id),
    decided_at timestamptz,
    decision_reason text,
    constraint session_correction_proposal_session_fk foreign key (activity_id, volunteer_id, local_day)
        references finalised_session (activity_id, volunteer_id, local_day),
    constraint session_correction_proposal_decided_ck check ((status = 'proposed') = (decided_at is null))
);

-- One proposal at a time per session: a second waits for the first to be decided.
create unique index session_correction_proposal_open_uq
    on session_correction_proposal (activity_id, volunteer_id, local_day) where status = 'proposed';
create index session_correction_proposal_activity_ix on session_correction_proposal (activity_id, id);

-- Who approved an applied correction (null for an upheld objection, decided alone).
alter table session_correction add column approved_by bigint
    constraint session_correction_approver_fk references staff (id);

-- Why an entry was published again (a correction, an upheld objection); the register's
-- reversal and replacement carry it when the new period ends.
alter table publicity_entry add column restart_reason text;
