//! Media a customer sent (a WeChat voice or video message) is held by the provider, behind its
//! access token: the message carries a link to the gateway instead,
//! `/v1/channels/{channel_id}/media/{media_id}?sig=…`, signed with the channel secret so only
//! links Kefu made are served; the gateway fetches the media from the provider when the link is
//! opened and streams it back.

use crate::AppState;
use crate::error::ApiError;
use crate::store::entities::channel;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The link to one of the channel's media.
pub fn link(channel: &channel::Model, media_id: &str) -> String {
    let sig = sign(channel, media_id);
    let id: String = form_urlencoded::byte_serialize(media_id.as_bytes()).collect();
    format!("/v1/channels/{}/media/{id}?sig={sig}", channel.id)
}

fn sign(channel: &channel::Model, media_id: &str) -> String {
    let full = crate::signature::sign(
        channel.secret.as_bytes(),
        format!("media:{media_id}").as_bytes(),
    );
    full.trim_start_matches("sha256=")[..32].to_owned()
}

#[derive(Deserialize)]
pub struct MediaQuery {
    #[serde(default)]
    sig: String,
}

/// `GET /v1/channels/{channel_id}/media/{media_id}?sig=…`.
#[utoipa::path(get, path = "/v1/channels/{channel_id}/media/{media_id}", tag = "channels",
    params(("channel_id" = String, Path, description = "The channel"), ("media_id" = String, Path, description = "The provider's media id"), ("sig" = Option<String>, Query, description = "The link's signature")),
    responses(
        (status = 200, description = "The media, as the provider serves it", content_type = "application/octet-stream", body = Vec<u8>),
        crate::openapi::ChannelErrors,
    ))]
pub async fn serve(
    State(state): State<AppState>,
    Path((channel_id, media_id)): Path<(String, String)>,
    crate::desk::QueryParams(q): crate::desk::QueryParams<MediaQuery>,
) -> Response {
    let not_found = || ApiError::NotFound {
        what: "media",
        id: media_id.chars().take(64).collect(),
    };
    let channel = match state.channels.get(&channel_id).await {
        Ok(Some(c)) if c.enabled => c,
        Ok(_) => return not_found().into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !kefu_channels::constant_time_eq(q.sig.as_bytes(), sign(&channel, &media_id).as_bytes()) {
        return not_found().into_response();
    }
    match super::adapter(&channel.channel_type) {
        Some(adapter) => match adapter.media(&state, &channel, &media_id).await {
            Ok(resp) => resp,
            Err(e) => e.into_response(),
        },
        None => not_found().into_response(),
    }
}
