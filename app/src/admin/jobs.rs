//! `/admin/jobs`: the background work — jobs queued, running and failed (with their errors and
//! retry and discard buttons) — and the latest emails; without SMTP, each email's outbox file
//! can be read at `/admin/jobs/emails/{id}`.

use super::model::{EmailRow, JobRow, JobsView};
use super::{form_error, AdminFrame, AdminProblem, History};
use crate::account::AccountChanges;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[server(prefix = "/api/admin", endpoint = "jobs")]
pub async fn admin_jobs() -> Result<JobsView, AppError> {
    use crate::ssr::admin::{jobs, recent_actions};
    use crate::ssr::{admin, db_error, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    let (pool, tz) = (&shop.pool, shop.time_zone);
    let (counts, queued, running, failed, emails, history) = tokio::try_join!(
        jobs::counts(pool),
        jobs::in_state(pool, "queued", tz),
        jobs::in_state(pool, "running", tz),
        jobs::in_state(pool, "failed", tz),
        jobs::emails(pool, tz, 50),
        recent_actions(pool, "job", tz, 20),
    )
    .map_err(db_error)?;
    Ok(JobsView {
        counts,
        queued,
        running,
        failed,
        emails,
        outbox: shop.outbox_dir.is_some(),
        history,
    })
}

#[cfg(feature = "ssr")]
async fn change_job(id: &str, retry: bool) -> Result<(), AppError> {
    use crate::ssr::admin::{record_action, Subject};
    use crate::ssr::{admin, db_error, invalid, shop};
    let shop = shop()?;
    let staff = admin::require_staff(&shop).await?;
    let id: i64 = id
        .trim()
        .parse()
        .map_err(|_| invalid("That job was not understood."))?;
    let mut tx = shop.pool.begin().await.map_err(db_error)?;
    let changed = if retry {
        shop.jobs.retry(&mut tx, id).await
    } else {
        shop.jobs.discard(&mut tx, id).await
    }
    .map_err(db_error)?;
    if !changed {
        return Err(invalid(if retry {
            "Only a failed job can be retried; this one has moved on. The list is up to date now."
        } else {
            "Only a failed or queued job can be discarded; this one has moved on."
        }));
    }
    let action = if retry { "Retried" } else { "Discarded" };
    record_action(
        &mut tx,
        staff.id,
        Subject::Job(id),
        action,
        &format!("job {id}"),
    )
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(())
}

#[server(prefix = "/api/admin", endpoint = "job-retry")]
pub async fn admin_retry_job(id: String) -> Result<(), AppError> {
    change_job(&id, true).await
}

#[server(prefix = "/api/admin", endpoint = "job-discard")]
pub async fn admin_discard_job(id: String) -> Result<(), AppError> {
    change_job(&id, false).await
}

/// One outbox email as its `.eml` file says (only when no SMTP server is configured).
#[server(prefix = "/api/admin", endpoint = "email")]
pub async fn admin_email(id: String) -> Result<(String, String), AppError> {
    use crate::ssr::{admin, db_error, not_found, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    let unknown = || not_found("We couldn't find that email in the outbox.");
    let id: i64 = id.trim().parse().map_err(|_| unknown())?;
    let dir = shop.outbox_dir.clone().ok_or_else(unknown)?;
    let (message_id, subject) = admin::jobs::email_message_id(&shop.pool, id)
        .await
        .map_err(db_error)?
        .ok_or_else(unknown)?;
    let path = dir.join(crate::ssr::outbox::outbox_file_name(&message_id));
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|_| not_found("This email is not in the outbox (yet): it may still be queued."))?;
    Ok((subject, text))
}

#[component]
pub fn JobsPage() -> impl IntoView {
    let retry = ServerAction::<AdminRetryJob>::new();
    let discard = ServerAction::<AdminDiscardJob>::new();
    let account = AccountChanges::get();
    let data = Resource::new(
        move || {
            (
                retry.version().get(),
                discard.version().get(),
                account.version(),
            )
        },
        |_| admin_jobs(),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading jobs…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <JobsBody view retry discard /> }.into_any(),
                    Err(error) => view! { <AdminProblem error next="/admin/jobs".to_owned() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn JobsBody(
    view: JobsView,
    retry: ServerAction<AdminRetryJob>,
    discard: ServerAction<AdminDiscardJob>,
) -> impl IntoView {
    let retry_error = form_error(retry);
    let discard_error = form_error(discard);
    let counts = view
        .counts
        .iter()
        .map(|(state, n)| view! { <li><span class="kpi-value" data-jobs=state.clone()>{*n}</span><span class="kpi-label">{state.clone()}</span></li> })
        .collect_view();
    view! {
        <AdminFrame title="Jobs & email">
            <ul class="kpis" aria-label="Jobs by state">{counts}</ul>
            <p class="form-error" role="alert">{move || retry_error.get().or_else(|| discard_error.get())}</p>
            <JobTable title="Failed" id="failed" jobs=view.failed.clone() retry discard empty="No failed jobs." />
            <JobTable title="Queued" id="queued" jobs=view.queued.clone() retry discard empty="Nothing is waiting." />
            <JobTable title="Running" id="running" jobs=view.running.clone() retry discard empty="Nothing is running." />
            <EmailTable emails=view.emails.clone() outbox=view.outbox />
            <History actions=view.history.clone() />
        </AdminFrame>
    }
}

#[component]
fn JobTable(
    title: &'static str,
    id: &'static str,
    jobs: Vec<JobRow>,
    retry: ServerAction<AdminRetryJob>,
    discard: ServerAction<AdminDiscardJob>,
    empty: &'static str,
) -> impl IntoView {
    let heading = format!("{id}-heading");
    let none = jobs.is_empty();
    let rows = jobs
        .into_iter()
        .map(|job| {
            let job_id = job.id.to_string();
            let buttons = (job.state == "failed" || job.state == "queued").then(|| {
                let retry_id = job_id.clone();
                let retry_button = (job.state == "failed").then(move || {
                    view! {
                        <ActionForm action=retry attr:class="inline-form">
                            <input type="hidden" name="id" value=retry_id />
                            <button type="submit" class="button secondary">"Retry"</button>
                        </ActionForm>
                    }
                });
                view! {
                    {retry_button}
                    <ActionForm action=discard attr:class="inline-form">
                        <input type="hidden" name="id" value=job_id.clone() />
                        <button type="submit" class="link-button danger">"Discard"</button>
                    </ActionForm>
                }
            });
            view! {
                <tr data-job=job.id.to_string()>
                    <th scope="row">{format!("#{} {}", job.id, job.kind)}</th>
                    <td>{format!("{} of {}", job.attempts, job.max_attempts)}</td>
                    <td>{job.run_at.clone()}</td>
                    <td class="job-error">{job.last_error.clone().unwrap_or_default()}</td>
                    <td>{buttons}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby=heading.clone()>
            <h2 id=heading.clone()>{title}</h2>
            {none.then(|| view! { <p class="hint">{empty}</p> })}
            <div class="table-scroll">
                <table class="data">
                    <thead><tr><th scope="col">"Job"</th><th scope="col">"Attempts"</th><th scope="col">"Due"</th>
                        <th scope="col">"Last error"</th><th scope="col">"Actions"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn EmailTable(emails: Vec<EmailRow>, outbox: bool) -> impl IntoView {
    let rows = emails
        .into_iter()
        .map(|e| {
            let subject = if outbox {
                view! { <a href=format!("/admin/jobs/emails/{}", e.id)>{e.subject.clone()}</a> }
                    .into_any()
            } else {
                e.subject.clone().into_any()
            };
            let state = match (&e.sent, e.job_state.as_deref()) {
                (Some(at), _) => format!("Sent {at}"),
                (None, Some("failed")) => "Failed".to_owned(),
                (None, _) => "Waiting".to_owned(),
            };
            view! {
                <tr>
                    <th scope="row">{subject}</th>
                    <td>{e.recipient}</td>
                    <td>{e.kind}</td>
                    <td>{e.created}</td>
                    <td>{state}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="emails-heading">
            <h2 id="emails-heading">"Latest emails"</h2>
            {outbox.then(|| view! { <p class="hint">"No SMTP server is configured: emails are written to the outbox folder. Open one to read it."</p> })}
            <div class="table-scroll">
                <table class="data">
                    <thead><tr><th scope="col">"Subject"</th><th scope="col">"To"</th><th scope="col">"Kind"</th>
                        <th scope="col">"Queued"</th><th scope="col">"State"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
pub fn EmailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let account = AccountChanges::get();
    let data = Resource::new(move || (id(), account.version()), |(id, _)| admin_email(id));
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the email…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((subject, text)) => view! {
                        <AdminFrame title=subject>
                            <p><a href="/admin/jobs">"← Jobs & email"</a></p>
                            <pre class="eml">{text}</pre>
                        </AdminFrame>
                    }.into_any(),
                    Err(error) => view! { <AdminProblem error next=format!("/admin/jobs/emails/{}", id()) /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
