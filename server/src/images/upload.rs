//! `POST /admin/products/{slug}/images`: a staff member adds a photo (multipart field `file`,
//! optional `alt`) to a product. The file is checked before anything is kept, stored once by
//! content, appended after the product's other photos, and its variants are warmed.

use super::{store_upload, ImageCache, ImageError};
use axum::{
    extract::{
        multipart::{MultipartError, MultipartRejection},
        DefaultBodyLimit, Multipart, Path, State,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use sqlx::PgPool;
use std::sync::Arc;
use tower_sessions::Session;

/// Room for the multipart framing and the `alt` field around the file itself.
const FORM_OVERHEAD_BYTES: usize = 64 * 1024;
/// Longest accepted alternative text, in characters.
const MAX_ALT_CHARS: usize = 300;

#[derive(Clone)]
struct UploadState {
    pool: PgPool,
    cache: Arc<ImageCache>,
}

/// The upload route with its own state and body limit (the image limit plus the form's
/// framing; other routes keep axum's default); merge into the application router, inside the
/// sessions layer.
pub fn upload_routes<S>(pool: PgPool, cache: Arc<ImageCache>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let limit = body_limit(&cache);
    Router::new()
        .route("/admin/products/{slug}/images", post(upload))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(UploadState { pool, cache })
}

fn body_limit(cache: &ImageCache) -> usize {
    cache
        .settings()
        .max_upload_bytes
        .saturating_add(FORM_OVERHEAD_BYTES)
}

/// Why an upload was refused; each answers with a status and a sentence for the person.
#[derive(Debug)]
enum UploadError {
    SignedOut,
    /// Unknown product, or a signed-in customer: neither learns whether the product exists.
    NotFound,
    NotAForm,
    MissingFile,
    AltTooLong,
    BodyTooLarge,
    Form(MultipartError),
    Image(ImageError),
    Internal(String),
}

impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            UploadError::SignedOut => (
                StatusCode::UNAUTHORIZED,
                "Please sign in with a staff account to add photos.".to_owned(),
            ),
            UploadError::NotFound => (StatusCode::NOT_FOUND, "No such product.".to_owned()),
            UploadError::NotAForm => (
                StatusCode::BAD_REQUEST,
                "Please send the photo as multipart/form-data.".to_owned(),
            ),
            UploadError::MissingFile => (
                StatusCode::BAD_REQUEST,
                "Please choose a photo to upload (form field \"file\").".to_owned(),
            ),
            UploadError::AltTooLong => (
                StatusCode::BAD_REQUEST,
                format!("Please keep the description under {MAX_ALT_CHARS} characters."),
            ),
            UploadError::BodyTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The photo is too large to upload.".to_owned(),
            ),
            UploadError::Form(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The photo is too large to upload.".to_owned(),
            ),
            UploadError::Form(err) => (
                StatusCode::BAD_REQUEST,
                format!("The upload form could not be read: {}.", err.body_text()),
            ),
            UploadError::Image(err) if err.status().is_client_error() => {
                (err.status(), format!("{}.", capitalised(&err)))
            }
            UploadError::Image(err) => {
                tracing::error!(error = %err, "storing an uploaded photo failed");
                internal()
            }
            UploadError::Internal(err) => {
                tracing::error!(error = %err, "the photo upload failed");
                internal()
            }
        };
        (status, message).into_response()
    }
}

fn internal() -> (StatusCode, String) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Sorry, the photo could not be saved. Please try again in a moment.".to_owned(),
    )
}

fn capitalised(err: &ImageError) -> String {
    let text = err.to_string();
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or(text)
}

async fn upload(
    State(state): State<UploadState>,
    Path(slug): Path<String>,
    session: Session,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, UploadError> {
    let user = app::ssr::accounts::session_user(&session, &state.pool)
        .await
        .map_err(|err| UploadError::Internal(err.to_string()))?
        .ok_or(UploadError::SignedOut)?;
    if !user.is_staff {
        return Err(UploadError::NotFound);
    }
    let product_id = product_id(&state.pool, &slug)
        .await?
        .ok_or(UploadError::NotFound)?;
    // A declared length over the limit is refused before a byte of it is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > body_limit(&state.cache) as u64) {
        return Err(UploadError::BodyTooLarge);
    }
    let multipart = multipart.map_err(|_| UploadError::NotAForm)?;
    let form = read_form(multipart, state.cache.settings().max_upload_bytes).await?;
    let stored = store_upload(&state.pool, &state.cache, form.file)
        .await
        .map_err(UploadError::Image)?;
    let (position, added) = attach(&state.pool, product_id, &stored.key, &form.alt).await?;
    if added {
        tracing::info!(
            user = user.id,
            slug = %slug,
            key = %stored.key,
            position,
            "photo added"
        );
        let (cache, key) = (Arc::clone(&state.cache), stored.key.clone());
        tokio::spawn(async move {
            if let Err(err) = cache.warm(&key).await {
                tracing::warn!(key = %key, error = %err, "warming an uploaded photo failed; variants are made on first request");
            }
        });
    }
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = serde_json::json!({
        "key": stored.key,
        "width": stored.width,
        "height": stored.height,
        "position": position,
    });
    Ok((status, Json(body)).into_response())
}

async fn product_id(pool: &PgPool, slug: &str) -> Result<Option<i64>, UploadError> {
    sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
        .bind(slug)
        .fetch_optional(pool)
        .await
        .map_err(|err| UploadError::Internal(err.to_string()))
}

struct UploadForm {
    file: Vec<u8>,
    alt: String,
}

/// Reads the `file` field (at most `max_file_bytes`) and the optional `alt` field; other
/// fields are skipped.
async fn read_form(
    mut multipart: Multipart,
    max_file_bytes: usize,
) -> Result<UploadForm, UploadError> {
    let (mut file, mut alt) = (None, String::new());
    while let Some(mut field) = multipart.next_field().await.map_err(UploadError::Form)? {
        let name = field.name().map(str::to_owned);
        match name.as_deref() {
            Some("file") => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(UploadError::Form)? {
                    if bytes.len() + chunk.len() > max_file_bytes {
                        return Err(UploadError::BodyTooLarge);
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some(bytes);
            }
            Some("alt") => {
                let text = field.text().await.map_err(UploadError::Form)?;
                let text = text.trim();
                if text.chars().count() > MAX_ALT_CHARS {
                    return Err(UploadError::AltTooLong);
                }
                alt = text.chars().filter(|c| !c.is_control()).collect();
            }
            _ => {}
        }
    }
    Ok(UploadForm {
        file: file.ok_or(UploadError::MissingFile)?,
        alt,
    })
}

/// Appends `key` after the product's photos, unless the product has it already; returns its
/// position and whether it was added. The product row is locked so two uploads at once get
/// different positions.
async fn attach(
    pool: &PgPool,
    product_id: i64,
    key: &str,
    alt: &str,
) -> Result<(i32, bool), UploadError> {
    let failed = |err: sqlx::Error| UploadError::Internal(err.to_string());
    let mut tx = pool.begin().await.map_err(failed)?;
    sqlx::query("SELECT id FROM products WHERE id = $1 FOR UPDATE")
        .bind(product_id)
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    let existing: Option<i32> = sqlx::query_scalar(
        "SELECT position FROM product_images WHERE product_id = $1 AND image_key = $2
         ORDER BY position LIMIT 1",
    )
    .bind(product_id)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await
    .map_err(failed)?;
    if let Some(position) = existing {
        return Ok((position, false));
    }
    let position: i32 = sqlx::query_scalar(
        "INSERT INTO product_images (product_id, image_key, position, alt)
         SELECT $1, $2, COALESCE(MAX(position) + 1, 0), $3
           FROM product_images WHERE product_id = $1
         RETURNING position",
    )
    .bind(product_id)
    .bind(key)
    .bind(alt)
    .fetch_one(&mut *tx)
    .await
    .map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok((position, true))
}
