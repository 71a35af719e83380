-- The time bank (时间储蓄): a double-entry ledger of minutes. See the PostgreSQL migration
-- of the same number for the design; times are Unix milliseconds here.

create table time_bank_setting (
    organisation_id integer constraint time_bank_setting_pk primary key
        constraint time_bank_setting_organisation_fk references organisation (id),
    enabled integer not null,
    expiry_months integer constraint time_bank_setting_expiry_ck check (expiry_months between 1 and 600),
    set_by integer not null constraint time_bank_setting_staff_fk references staff (id),
    set_at integer not null
) strict;

create table time_bank_account (
    id integer constraint time_bank_account_pk primary key,
    kind text not null constraint time_bank_account_kind_ck
        check (kind in ('volunteer', 'pool', 'deposits', 'services', 'expired')),
    volunteer_id integer constraint time_bank_account_volunteer_fk references volunteer (id),
    balance integer not null default 0,
    created_at integer not null,
    constraint time_bank_account_owner_ck check ((kind = 'volunteer') = (volunteer_id is not null)),
    constraint time_bank_account_balance_ck check (kind not in ('volunteer', 'pool') or balance >= 0)
) strict;

create unique index time_bank_account_volunteer_uq on time_bank_account (volunteer_id) where kind = 'volunteer';
create unique index time_bank_account_nominal_uq on time_bank_account (kind) where kind <> 'volunteer';

insert into time_bank_account (kind, created_at)
values ('pool', 0), ('deposits', 0), ('services', 0), ('expired', 0);

create table time_bank_transaction (
    id integer constraint time_bank_transaction_pk primary key,
    key text not null constraint time_bank_transaction_key_uq unique,
    kind text not null constraint time_bank_transaction_kind_ck
        check (kind in ('deposit', 'reversal', 'spend', 'donation', 'expiry')),
    fingerprint text not null,
    minutes integer not null constraint time_bank_transaction_minutes_ck check (minutes > 0),
    shortfall integer not null default 0 constraint time_bank_transaction_shortfall_ck check (shortfall >= 0),
    register_seq integer constraint time_bank_transaction_register_fk references register_entry (seq),
    organisation_id integer constraint time_bank_transaction_organisation_fk references organisation (id),
    service text,
    beneficiary text,
    expires_at integer,
    by_staff integer constraint time_bank_transaction_staff_fk references staff (id),
    by_volunteer integer constraint time_bank_transaction_volunteer_fk references volunteer (id),
    created_at integer not null
) strict;

create table time_bank_posting (
    transaction_id integer not null constraint time_bank_posting_transaction_fk references time_bank_transaction (id),
    account_id integer not null constraint time_bank_posting_account_fk references time_bank_account (id),
    minutes integer not null constraint time_bank_posting_minutes_ck check (minutes <> 0),
    constraint time_bank_posting_pk primary key (transaction_id, account_id)
) strict;

create index time_bank_posting_account_ix on time_bank_posting (account_id, transaction_id);
create index time_bank_transaction_register_ix on time_bank_transaction (register_seq);

create trigger time_bank_transaction_no_update before update on time_bank_transaction
begin
    select raise(abort, 'the time bank is append-only: corrections are reversal transactions');
end;
create trigger time_bank_transaction_no_delete before delete on time_bank_transaction
begin
    select raise(abort, 'the time bank is append-only: corrections are reversal transactions');
end;
create trigger time_bank_posting_no_update before update on time_bank_posting
begin
    select raise(abort, 'the time bank is append-only: corrections are reversal transactions');
end;
create trigger time_bank_posting_no_delete before delete on time_bank_posting
begin
    select raise(abort, 'the time bank is append-only: corrections are reversal transactions');
end;
