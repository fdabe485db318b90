//! Static assets, embedded in the binary: the page never loads anything from another host.
use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

#[derive(rust_embed::Embed)]
#[folder = "assets/"]
struct Assets;

/// `GET /ui/assets/{file}`: cached for a day (the names do not change between builds, so not
/// forever).
pub async fn serve(Path(file): Path<String>) -> Response {
    let servable = file.ends_with(".js") || file.ends_with(".css");
    let Some(asset) = Assets::get(&file).filter(|_| servable) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = if file.ends_with(".js") {
        "text/javascript; charset=utf-8"
    } else {
        "text/css; charset=utf-8"
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        asset.data.into_owned(),
    )
        .into_response()
}
