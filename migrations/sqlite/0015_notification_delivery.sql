-- Notifications say what happened to a volunteer's hours: a kind clients switch on, the
-- facts behind the sentence (JSON), and whether the volunteer has read it.
alter table notification add column kind text not null default 'left_open';
alter table notification add column data text not null default '{}';
alter table notification add column read_at integer;

create index notification_unread_ix on notification (volunteer_id, id) where read_at is null;

-- The WeChat subscription message for a notification: an outbox the delivery job works
-- through, so a decision never waits for WeChat and a failed send is tried again.
create table wechat_delivery (
    notification_id integer constraint wechat_delivery_pk primary key
        constraint wechat_delivery_notification_fk references notification (id),
    status text not null default 'pending'
        constraint wechat_delivery_status_ck check (status in ('pending', 'sent', 'failed', 'skipped')),
    attempts integer not null default 0,
    next_attempt_at integer not null,
    last_error text,
    finished_at integer
) strict;

create index wechat_delivery_due_ix on wechat_delivery (next_attempt_at) where status = 'pending';
