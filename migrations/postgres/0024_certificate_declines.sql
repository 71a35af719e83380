-- An issuer may decline a certificate request, with a reason the volunteer reads (for
-- instance: the range asked for is not what they served, or the service was recorded
-- elsewhere). A declined request is never issued; the volunteer asks again.

alter table certificate_request drop constraint certificate_request_status_ck;
alter table certificate_request
    add constraint certificate_request_status_ck check (status in ('pending', 'issued', 'declined')),
    add column decline_reason text,
    add column declined_by bigint constraint certificate_request_declined_by_fk references staff (id),
    add column declined_at timestamptz,
    add constraint certificate_request_declined_ck
        check ((status = 'declined') = (decline_reason is not null and declined_by is not null and declined_at is not null));
