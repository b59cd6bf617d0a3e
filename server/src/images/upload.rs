//! `POST /admin/products/{slug}/images`: a staff member adds photos (multipart fields `file`,
//! one or several, and an optional `alt`) to a product. Every file is checked before anything
//! is kept, stored once by content, appended after the product's other photos (recorded in the
//! product's history), and its variants are warmed. A script gets JSON back; a plain HTML form
//! is sent back to the product's staff page with the outcome in the URL.

use super::{process_upload, store_processed, ImageCache, ImageError};
use axum::{
    extract::{
        multipart::{MultipartError, MultipartRejection},
        DefaultBodyLimit, Multipart, Path, State,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
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
    TooManyFiles,
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
            UploadError::TooManyFiles => (
                StatusCode::BAD_REQUEST,
                format!("Please upload at most {MAX_FILES} photos at a time."),
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
    state: State<UploadState>,
    Path(slug): Path<String>,
    session: Session,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let html = wants_html(&headers);
    match add_photos(state, slug.clone(), session, headers, multipart).await {
        Ok(response) => response,
        // A plain form goes back to the product's page with the reason, unless the person may
        // not see that page at all.
        Err(err) if html && !matches!(err, UploadError::SignedOut | UploadError::NotFound) => {
            let response = err.into_response();
            let status = response.status();
            let text = match axum::body::to_bytes(response.into_body(), 4096).await {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(_) => format!("The upload was refused ({status})."),
            };
            let back = format!(
                "/admin/products/{slug}?upload_error={}",
                app::catalog_query::encode(&text)
            );
            Redirect::to(&back).into_response()
        }
        Err(err) => err.into_response(),
    }
}

async fn add_photos(
    State(state): State<UploadState>,
    slug: String,
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
    // Every file is checked (decoded) before any is kept: one bad file keeps none.
    let mut checked = Vec::with_capacity(form.files.len());
    for file in form.files {
        let processed = process_upload(&state.cache, file)
            .await
            .map_err(UploadError::Image)?;
        checked.push(processed);
    }
    let mut photos = Vec::with_capacity(checked.len());
    let mut any_added = false;
    for processed in checked {
        let stored = store_processed(&state.pool, &state.cache, processed)
            .await
            .map_err(UploadError::Image)?;
        let (position, added) =
            attach(&state.pool, user.id, product_id, &stored.key, &form.alt).await?;
        any_added |= added;
        if added {
            tracing::info!(user = user.id, slug = %slug, key = %stored.key, position, "photo added");
            let (cache, key) = (Arc::clone(&state.cache), stored.key.clone());
            tokio::spawn(async move {
                if let Err(err) = cache.warm(&key).await {
                    tracing::warn!(key = %key, error = %err, "warming an uploaded photo failed; variants are made on first request");
                }
            });
        }
        photos.push(serde_json::json!({
            "key": stored.key,
            "width": stored.width,
            "height": stored.height,
            "position": position,
        }));
    }
    if wants_html(&headers) {
        let back = format!("/admin/products/{slug}?uploaded={}", photos.len());
        return Ok(Redirect::to(&back).into_response());
    }
    let status = if any_added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = match <[_; 1]>::try_from(photos) {
        Ok([one]) => one,
        Err(all) => serde_json::json!({ "photos": all }),
    };
    Ok((status, Json(body)).into_response())
}

/// A plain HTML form (no script) asks for HTML and is answered with a redirect.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

async fn product_id(pool: &PgPool, slug: &str) -> Result<Option<i64>, UploadError> {
    sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
        .bind(slug)
        .fetch_optional(pool)
        .await
        .map_err(|err| UploadError::Internal(err.to_string()))
}

struct UploadForm {
    files: Vec<Vec<u8>>,
    alt: String,
}

/// Most photos one upload may carry.
const MAX_FILES: usize = 20;

/// Reads the `file` fields (each at most `max_file_bytes`, at most [`MAX_FILES`]) and the
/// optional `alt` field; other fields are skipped.
async fn read_form(
    mut multipart: Multipart,
    max_file_bytes: usize,
) -> Result<UploadForm, UploadError> {
    let (mut files, mut alt) = (Vec::new(), String::new());
    while let Some(mut field) = multipart.next_field().await.map_err(UploadError::Form)? {
        let name = field.name().map(str::to_owned);
        match name.as_deref() {
            Some("file") => {
                if files.len() == MAX_FILES {
                    return Err(UploadError::TooManyFiles);
                }
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(UploadError::Form)? {
                    if bytes.len() + chunk.len() > max_file_bytes {
                        return Err(UploadError::BodyTooLarge);
                    }
                    bytes.extend_from_slice(&chunk);
                }
                // A file input left empty still sends an empty part.
                if !bytes.is_empty() {
                    files.push(bytes);
                }
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
    if files.is_empty() {
        return Err(UploadError::MissingFile);
    }
    Ok(UploadForm { files, alt })
}

/// Appends `key` after the product's photos, unless the product has it already; returns its
/// position and whether it was added. The product row is locked so two uploads at once get
/// different positions.
async fn attach(
    pool: &PgPool,
    staff_id: i64,
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
    let detail = format!(
        "image {} at position {}",
        &key[..key.len().min(12)],
        position + 1
    );
    app::ssr::admin::record_action(
        &mut tx,
        staff_id,
        app::ssr::admin::Subject::Product(product_id),
        "Added a photo",
        &detail,
    )
    .await
    .map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok((position, true))
}
