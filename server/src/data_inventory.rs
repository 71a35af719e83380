//! `GET /api/v1/data-inventory`: the data inventory (个人信息清单) for administrators,
//! generated from [`hourmark_core::data_inventory`].

use axum::extract::State;
use hourmark_core::Hourmark;
use hourmark_core::data_inventory::InventoryRow;
use hourmark_http::ApiError;
use hourmark_http::extract::StaffCaller;
use hourmark_http::responses::{Forbidden, Unauthenticated};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new().routes(routes!(data_inventory))
}

/// Every stored personal column (`table.column`): what it holds, whose it is, why it is
/// kept, its legal basis under the PIPL, who can read it, how long it is kept and whether
/// it is sealed. The same facts as `docs/data-inventory.md`. Administrators only.
#[utoipa::path(
    get, path = "/api/v1/data-inventory", tag = "operations", security(("bearer" = [])),
    responses(
        (status = 200, body = [InventoryRow]),
        Unauthenticated,
        Forbidden,
    )
)]
async fn data_inventory(
    State(_hourmark): State<Hourmark>,
    StaffCaller(by): StaffCaller,
) -> Result<axum::Json<Vec<InventoryRow>>, ApiError> {
    Ok(axum::Json(hourmark_core::data_inventory::inventory_for(&by)?))
}
