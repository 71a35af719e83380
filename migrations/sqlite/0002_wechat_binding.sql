-- WeChat mini-program identities bound to volunteers. One WeChat account (openid, for
-- this app) binds at most one volunteer and a volunteer at most one account.
create table wechat_binding (
    openid text constraint wechat_binding_pk primary key,
    unionid text,
    volunteer_id integer not null constraint wechat_binding_volunteer_fk references volunteer (id),
    bound_at integer not null,
    constraint wechat_binding_volunteer_uq unique (volunteer_id)
) strict;
