//! What volunteers are told, as use cases: writing notifications, reading and marking
//! them, and the WeChat delivery job, over the types and rules in `notification`.

use crate::error::CoreError;
use crate::hourmark::Hourmark;
use chrono::Duration;

use super::{
    CLAIM_SIZE, DeliveryOutcome, HoursNotice, MAX_DELIVERY_ATTEMPTS, MarkRead, NewNotification, Notification,
    retry_after, subscribe_keywords,
};

impl Hourmark {
    /// Whether notifications are also queued for WeChat.
    pub(crate) fn pushes(&self) -> bool {
        self.settings().wechat.as_ref().is_some_and(|w| w.config().notice_template_id.is_some())
    }

    /// Tells a volunteer what happened to their hours. Called after the decision has
    /// committed; a failure is logged, never returned: the decision stands either way.
    pub(crate) async fn notify_hours(&self, notice: HoursNotice) {
        self.notify_all(vec![notice]).await;
    }

    /// [`notify_hours`](Self::notify_hours) for several at once.
    pub(crate) async fn notify_all(&self, notices: Vec<HoursNotice>) {
        if notices.is_empty() {
            return;
        }
        let (now, push) = (self.now(), self.pushes());
        let new: Vec<NewNotification> = notices.into_iter().map(|n| n.into_new(now, push)).collect();
        if let Err(e) = self.store().add_notifications(&new, now).await {
            tracing::error!(error = %e, count = new.len(), "could not store notifications; the decisions stand");
        }
    }

    /// The volunteer's notifications, newest first (at most 100), or only the unread.
    pub async fn my_notifications(&self, volunteer_id: i64, unread_only: bool) -> Result<Vec<Notification>, CoreError> {
        self.store().notifications(volunteer_id, unread_only).await
    }

    /// Marks the volunteer's notifications read; returns how many changed.
    pub async fn mark_notifications_read(&self, volunteer_id: i64, which: MarkRead) -> Result<u64, CoreError> {
        use crate::error::ErrorCode;
        if which.all != which.ids.is_empty() || which.ids.len() > 500 {
            return Err(CoreError::refused(ErrorCode::InvalidBody, "须指定 ids（1 至 500 个）或 all: true 之一"));
        }
        let ids = (!which.all).then_some(which.ids.as_slice());
        self.store().mark_notifications_read(volunteer_id, ids, self.now()).await
    }

    /// Works through due WeChat deliveries (at most 20 a run); returns how many were sent.
    /// Idempotent enough for every instance: each delivery is claimed before it is sent, so
    /// two instances do not send the same message.
    pub async fn deliver_wechat_notices(&self) -> Result<usize, CoreError> {
        let Some(wechat) = self.settings().wechat.clone() else { return Ok(0) };
        let Some(template_id) = wechat.config().notice_template_id.clone() else { return Ok(0) };
        let now = self.now();
        let mut sent = 0;
        // A claim holds its deliveries for longer than the run can take (each send is at
        // most three calls within WeChat's timeout), so no other instance takes them while
        // this one is still sending; a run that dies leaves them to the next after the hold.
        let hold = Duration::from_std(wechat.config().timeout * 3 * CLAIM_SIZE).unwrap_or(Duration::minutes(10))
            + Duration::minutes(1);
        for delivery in self.store().claim_deliveries(now, now + hold, i64::from(CLAIM_SIZE)).await? {
            let outcome = match &delivery.openid {
                None => DeliveryOutcome::Skipped("未绑定微信".to_owned()),
                Some(openid) => {
                    let message = crate::wechat::SubscribeMessage {
                        touser: openid.clone(),
                        template_id: template_id.clone(),
                        page: Some("pages/hours/index".to_owned()),
                        data: subscribe_keywords(delivery.kind, &delivery.body, &delivery.data),
                    };
                    match wechat.send_subscribe_message(&message).await {
                        Ok(()) => DeliveryOutcome::Sent,
                        Err(crate::wechat::WeChatError::Upstream {
                            errcode: crate::wechat::NOT_SUBSCRIBED, ..
                        }) => DeliveryOutcome::Skipped("用户未订阅".to_owned()),
                        Err(e) if delivery.attempts + 1 >= MAX_DELIVERY_ATTEMPTS => {
                            DeliveryOutcome::Failed(e.to_string())
                        }
                        Err(e) => {
                            DeliveryOutcome::Retry(self.now() + retry_after(delivery.attempts + 1), e.to_string())
                        }
                    }
                }
            };
            if outcome == DeliveryOutcome::Sent {
                sent += 1;
            }
            self.store().finish_delivery(delivery.notification_id, &outcome, self.now()).await?;
        }
        Ok(sent)
    }
}
