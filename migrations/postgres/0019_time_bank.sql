-- The time bank (时间储蓄): a double-entry ledger of minutes.
--
-- Every transaction has postings that sum to zero, so the sum over all accounts is zero.
-- Volunteer accounts and the common pool never go below zero (a CHECK, so two concurrent
-- spends cannot both pass); the three nominal accounts are the other side of the books:
-- `deposits` (minutes brought in from the register: minus everything deposited),
-- `services` (minutes spent on services received) and `expired`. Nothing is ever edited:
-- a correction of the register is a reversal transaction.

create table time_bank_setting (
    organisation_id bigint constraint time_bank_setting_pk primary key
        constraint time_bank_setting_organisation_fk references organisation (id),
    enabled boolean not null,
    -- Deposits from this organisation lapse this many months after they were made, unless spent.
    expiry_months integer constraint time_bank_setting_expiry_ck check (expiry_months between 1 and 600),
    set_by bigint not null constraint time_bank_setting_staff_fk references staff (id),
    set_at timestamptz not null
);

create table time_bank_account (
    id bigint generated always as identity constraint time_bank_account_pk primary key,
    kind text not null constraint time_bank_account_kind_ck
        check (kind in ('volunteer', 'pool', 'deposits', 'services', 'expired')),
    volunteer_id bigint constraint time_bank_account_volunteer_fk references volunteer (id),
    balance bigint not null default 0,
    created_at timestamptz not null,
    constraint time_bank_account_owner_ck check ((kind = 'volunteer') = (volunteer_id is not null)),
    constraint time_bank_account_balance_ck check (kind not in ('volunteer', 'pool') or balance >= 0)
);

create unique index time_bank_account_volunteer_uq on time_bank_account (volunteer_id) where kind = 'volunteer';
create unique index time_bank_account_nominal_uq on time_bank_account (kind) where kind <> 'volunteer';

insert into time_bank_account (kind, created_at)
values ('pool', now()), ('deposits', now()), ('services', now()), ('expired', now());

create table time_bank_transaction (
    id bigint generated always as identity constraint time_bank_transaction_pk primary key,
    -- The client's idempotency key (`register:<seq>` for deposits, `expiry:<volunteer>:<n>` for expiries).
    key text not null constraint time_bank_transaction_key_uq unique,
    kind text not null constraint time_bank_transaction_kind_ck
        check (kind in ('deposit', 'reversal', 'spend', 'donation', 'expiry')),
    -- A digest of what the transaction does: a replayed key with other contents is refused.
    fingerprint text not null,
    minutes bigint not null constraint time_bank_transaction_minutes_ck check (minutes > 0),
    -- Minutes a reversal could not take back because they had been spent.
    shortfall bigint not null default 0 constraint time_bank_transaction_shortfall_ck check (shortfall >= 0),
    register_seq bigint constraint time_bank_transaction_register_fk references register_entry (seq),
    organisation_id bigint constraint time_bank_transaction_organisation_fk references organisation (id),
    -- What was received, and by whom (the volunteer or the family member they named).
    service text,
    beneficiary text,
    -- Deposits only: when they lapse, if their organisation sets an expiry.
    expires_at timestamptz,
    by_staff bigint constraint time_bank_transaction_staff_fk references staff (id),
    by_volunteer bigint constraint time_bank_transaction_volunteer_fk references volunteer (id),
    created_at timestamptz not null
);

create table time_bank_posting (
    transaction_id bigint not null constraint time_bank_posting_transaction_fk references time_bank_transaction (id),
    account_id bigint not null constraint time_bank_posting_account_fk references time_bank_account (id),
    minutes bigint not null constraint time_bank_posting_minutes_ck check (minutes <> 0),
    constraint time_bank_posting_pk primary key (transaction_id, account_id)
);

create index time_bank_posting_account_ix on time_bank_posting (account_id, transaction_id);
create index time_bank_transaction_register_ix on time_bank_transaction (register_seq);

create function time_bank_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'the time bank is append-only: corrections are reversal transactions'
        using errcode = 'P0001';
end
$$;

create trigger time_bank_transaction_no_update before update or delete on time_bank_transaction
    for each statement execute function time_bank_append_only();
create trigger time_bank_posting_no_update before update or delete on time_bank_posting
    for each statement execute function time_bank_append_only();
