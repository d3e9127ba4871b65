//! The console's one style sheet and one script, compiled in (no build step, nothing fetched).

use axum::http::header;
use axum::response::IntoResponse;

/// `/_console/console.css`.
pub async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../assets/console.css"),
    )
}

/// `/_console/console.js`.
pub async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../assets/console.js"),
    )
}
