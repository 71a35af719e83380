-- WeChat Official Account (公众号) identities bound to volunteers, for signing in inside
-- WeChat's own browser. An OA openid is not the mini program's openid (each app has its
-- own), so it cannot go into wechat_binding, whose openid also receives the mini
-- program's subscription messages. The unionid, common to both apps when they share an
-- Open Platform account, is what finds a volunteer from either side; it is indexed in
-- both tables for that.
create table wechat_binding_oa (
    oa_openid text constraint wechat_binding_oa_pk primary key,
    unionid text,
    volunteer_id integer not null constraint wechat_binding_oa_volunteer_fk references volunteer (id),
    bound_at integer not null,
    constraint wechat_binding_oa_volunteer_uq unique (volunteer_id)
) strict;
create index wechat_binding_oa_unionid_ix on wechat_binding_oa (unionid);
create index wechat_binding_unionid_ix on wechat_binding (unionid);
