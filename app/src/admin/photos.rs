//! A product's photos on its staff page: the list (thumbnails with description, order and
//! removal) and the uploader. Without JavaScript the uploader is a plain multipart form that
//! posts every chosen file at once; hydrated, it sends them one by one and shows each file's
//! progress, then reloads the list.

use super::model::PhotoRow;
use super::product_parts::{PartActions, PhotoControls};
use leptos::prelude::*;

/// One file's upload as the list under the form shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadProgress {
    pub name: String,
    /// 0–100.
    pub percent: u32,
    /// `None` while sending; then "Added" or the server's sentence.
    pub outcome: Option<Result<String, String>>,
}

/// The uploader's state, kept by the product page: the photo list reloads when an upload
/// finishes, and the progress list must outlive that reload.
#[derive(Debug, Clone, Copy)]
pub struct Uploads {
    /// Counts finished batches; the product's data reloads on each.
    pub finished: RwSignal<u32>,
    pub progress: RwSignal<Vec<UploadProgress>>,
}

impl Uploads {
    pub fn new() -> Self {
        Uploads {
            finished: RwSignal::new(0),
            progress: RwSignal::new(Vec::new()),
        }
    }
}

impl Default for Uploads {
    fn default() -> Self {
        Self::new()
    }
}

#[component]
pub fn Photos(
    photos: Vec<PhotoRow>,
    slug: String,
    limit_mb: usize,
    actions: PartActions,
    uploads: Uploads,
) -> impl IntoView {
    let count = photos.len();
    let items = photos
        .into_iter()
        .enumerate()
        .map(|(i, photo)| {
            let src = format!("/img/{}/150.webp", photo.key);
            let position = photo.position.to_string();
            let alt = if photo.alt.is_empty() { "Photo without a description".to_owned() } else { photo.alt.clone() };
            view! {
                <li class="admin-photo" data-position=position>
                    <img src=src alt=alt width="150" loading="lazy" decoding="async" />
                    <PhotoControls photo number=i + 1 slug=slug.clone() first=i == 0 last=i + 1 == count actions />
                </li>
            }
        })
        .collect_view();
    let action = format!("/admin/products/{slug}/images");
    let progress = uploads.progress;
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        upload::start(ev, progress, uploads.finished);
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, uploads);
    };
    let rows = move || {
        progress
            .get()
            .into_iter()
            .map(|p| {
                let status = match &p.outcome {
                    None => format!("{}%", p.percent),
                    Some(Ok(text)) | Some(Err(text)) => text.clone(),
                };
                let failed = matches!(p.outcome, Some(Err(_)));
                view! {
                    <li class:failed=failed>
                        <span class="upload-name">{p.name.clone()}</span>
                        <progress max="100" value=p.percent.to_string()>{format!("{}%", p.percent)}</progress>
                        <span class="upload-status" role="status">{status}</span>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="card" aria-labelledby="photos-heading">
            <h2 id="photos-heading">"Photos"</h2>
            <p class="hint">"The first photo is the one on the catalog card. Describe each for people who cannot see it."</p>
            {(count == 0).then(|| view! { <p class="empty">"No photos yet."</p> })}
            <ol class="admin-photos">{items}</ol>
            <form method="post" action=action enctype="multipart/form-data" class="stacked-form upload-form" on:submit=on_submit>
                <div class="field">
                    <label for="photo-files">{format!("Add photos (JPEG, PNG or WebP, up to {limit_mb} MB each)")}</label>
                    <input id="photo-files" name="file" type="file" multiple required accept="image/jpeg,image/png,image/webp" />
                </div>
                <div class="field">
                    <label for="photo-alt">"Description for these photos (optional)"</label>
                    <input id="photo-alt" name="alt" maxlength="300" />
                </div>
                <button type="submit" class="button secondary">"Upload"</button>
            </form>
            <ul class="upload-progress" aria-live="polite">{rows}</ul>
        </section>
    }
}

#[cfg(feature = "hydrate")]
mod upload {
    //! Sends each chosen file in its own request with `XMLHttpRequest`, whose upload events
    //! report progress (fetch has none), one after the other so the list fills in order.
    use super::UploadProgress;
    use leptos::prelude::*;
    use leptos::wasm_bindgen::{closure::Closure, JsCast};
    use leptos::web_sys::{self, FormData, HtmlFormElement, HtmlInputElement, XmlHttpRequest};

    pub fn start(
        ev: leptos::ev::SubmitEvent,
        progress: RwSignal<Vec<UploadProgress>>,
        done: RwSignal<u32>,
    ) {
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        let input = form
            .query_selector("input[type=file]")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<HtmlInputElement>().ok());
        let alt = form
            .query_selector("input[name=alt]")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
            .map(|i| i.value())
            .unwrap_or_default();
        let Some(files) = input.as_ref().and_then(|i| i.files()) else {
            return;
        };
        ev.prevent_default();
        let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
        progress.set(
            files
                .iter()
                .map(|f| UploadProgress {
                    name: f.name(),
                    percent: 0,
                    outcome: None,
                })
                .collect(),
        );
        send(form.action(), files, 0, alt, progress, done);
        if let Some(input) = input {
            input.set_value("");
        }
    }

    fn update(
        progress: RwSignal<Vec<UploadProgress>>,
        index: usize,
        change: impl FnOnce(&mut UploadProgress),
    ) {
        progress.update(|list| {
            if let Some(item) = list.get_mut(index) {
                change(item);
            }
        });
    }

    /// Sends file `index`, then the next one; when none is left, reloads the product.
    fn send(
        url: String,
        files: Vec<web_sys::File>,
        index: usize,
        alt: String,
        progress: RwSignal<Vec<UploadProgress>>,
        done: RwSignal<u32>,
    ) {
        let Some(file) = files.get(index).cloned() else {
            done.update(|n| *n += 1);
            return;
        };
        let failed =
            |text: &str| update(progress, index, |p| p.outcome = Some(Err(text.to_owned())));
        let (Ok(xhr), Ok(body)) = (XmlHttpRequest::new(), FormData::new()) else {
            failed("This browser cannot upload here.");
            return;
        };
        let _ = body.append_with_blob_and_filename("file", &file, &file.name());
        let _ = body.append_with_str("alt", &alt);
        if xhr.open("POST", &url).is_err() {
            failed("The upload could not start.");
            return;
        }
        let _ = xhr.set_request_header("Accept", "application/json");
        let on_progress =
            Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                if e.length_computable() && e.total() > 0.0 {
                    let percent = (e.loaded() / e.total() * 100.0).clamp(0.0, 100.0) as u32;
                    update(progress, index, |p| p.percent = percent);
                }
            });
        if let Ok(upload) = xhr.upload() {
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        on_progress.forget();
        let request = xhr.clone();
        let on_end = Closure::<dyn FnMut()>::new(move || {
            let status = request.status().unwrap_or(0);
            let outcome = if (200..300).contains(&status) {
                Ok("Added".to_owned())
            } else if status == 0 {
                Err("The connection was lost. Please try again.".to_owned())
            } else {
                Err(request
                    .response_text()
                    .ok()
                    .flatten()
                    .filter(|t| !t.trim().is_empty() && t.len() < 500)
                    .unwrap_or_else(|| format!("The server refused this file ({status}).")))
            };
            update(progress, index, |p| {
                p.percent = 100;
                p.outcome = Some(outcome);
            });
            send(
                url.clone(),
                files.clone(),
                index + 1,
                alt.clone(),
                progress,
                done,
            );
        });
        xhr.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
        on_end.forget();
        if xhr.send_with_opt_form_data(Some(&body)).is_err() {
            failed("The upload could not start.");
        }
    }
}
