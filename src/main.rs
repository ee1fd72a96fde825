//! The `dsr-worker` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use dsr_worker::config::Settings;
use dsr_worker::review::auth::Role;
use dsr_worker::review::cli;
use dsr_worker::review::decisions::Decision;
use dsr_worker::understand::statistical::train::Options as TrainOptions;
use dsr_worker::understand::{cli as understand_cli, Company, Reader, StatisticalReader};
use dsr_worker::worker::{self, Stages};
use dsr_worker::{db, ops, telemetry};

#[derive(Parser)]
#[command(
    name = "dsr-worker",
    version,
    about = "Data-subject requests for NLG.KZ LLP: reads info@nlg.kz, understands requests \
             (kk/ru/en), queues them in RabbitMQ and answers the subject.",
    long_about = None
)]
struct Cli {
    /// Configuration file (TOML). Every key can be overridden as DSR__SECTION__KEY.
    #[arg(
        long,
        short,
        global = true,
        env = "DSR_CONFIG",
        default_value = "config/local.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read the mailbox and process requests in one process until Ctrl-C / SIGTERM.
    ///
    /// Applies pending migrations first. Any number of workers may run: one reads the mailbox
    /// (the others stand by), all of them process.
    Run,
    /// Only read the mailbox (one active reader across all workers).
    Intake,
    /// Only process: triage stored mail, consume the queue, send replies.
    Process,
    /// Apply the database migrations and exit.
    Migrate,
    /// Print what the worker understands of .eml files (one JSON object per line).
    ///
    /// PATH may be files or directories of .eml files. An unreadable file prints a line with an
    /// `error` field; the exit code is non-zero only for usage errors. Needs no services; the
    /// company's own contacts come from --config when it exists.
    Classify {
        /// Print JSON lines (the default and only format; accepted for scripts).
        #[arg(long)]
        json: bool,
        /// Statistical model file instead of the built-in one (and of `understand.model`).
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Registered data stores.
    Stores {
        #[command(subcommand)]
        command: StoresCommand,
    },
    /// Show what processing a request would do in every store (dry run; changes nothing).
    Plan {
        /// Request id (the number of DSR-2026-000123 is 123).
        request_id: i64,
    },
    /// Store tasks of a request (replay and confirm them with `review retry|done`).
    Tasks {
        #[command(subcommand)]
        command: TasksCommand,
    },
    /// Legal holds: destroy rows whose retention duty has ended (the worker also does it hourly).
    Holds {
        #[command(subcommand)]
        command: HoldsCommand,
    },
    /// Retention: reduce what the worker's own database no longer needs (the worker also does
    /// it every retention.interval_secs).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Compare `classify` with DIR/labels.jsonl for each DIR: safety and accuracy figures, per
    /// language, how the two readers agree, a confusion matrix and the misses.
    Eval {
        /// Statistical model file instead of the built-in one (and of `understand.model`).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Also write one JSON line per message (label, both readers, gate, result) here.
        #[arg(long)]
        details: Option<PathBuf>,
        /// Directories of NNN.eml files with labels.jsonl (format: corpus/README.md).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Train the statistical reader on labelled corpora and write its model file.
    ///
    /// Deterministic: the same corpora and options give the same bytes. The thresholds of the
    /// agreement gate are calibrated on the validation corpora, which are never trained on.
    Train {
        /// Training corpus directories (labels.jsonl + .eml).
        #[arg(long = "train", required = true)]
        train: Vec<PathBuf>,
        /// Validation corpus directories (calibration only).
        #[arg(long = "validation", required = true)]
        validation: Vec<PathBuf>,
        /// Where to write the model.
        #[arg(long, default_value = "models/statistical.bin")]
        out: PathBuf,
        /// 2^BITS feature buckets.
        #[arg(long, default_value_t = TrainOptions::default().bits)]
        bits: u8,
        #[arg(long, default_value_t = TrainOptions::default().epochs)]
        epochs: usize,
        #[arg(long, default_value_t = TrainOptions::default().seed)]
        seed: u64,
        #[arg(long, default_value_t = TrainOptions::default().learning_rate)]
        learning_rate: f32,
        #[arg(long, default_value_t = TrainOptions::default().l2)]
        l2: f32,
        /// Also write the validation predictions as JSON lines (for study).
        #[arg(long)]
        predictions: Option<PathBuf>,
    },
    /// Serve only the staff review console (and its daily digest) until Ctrl-C / SIGTERM.
    Console,
    /// Staff accounts of the review console.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Review requests from the command line (the console's twin): every decision is audited.
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// The hash-chained audit log of staff decisions.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum StoresCommand {
    /// Connect to every store, verify tables and columns, warn about unindexed identifiers,
    /// and print the plan per request kind.
    Check,
}

#[derive(Subcommand)]
enum TasksCommand {
    /// List the store tasks of a request.
    ///
    /// Replaying a task or marking one done are staff decisions, audited: use
    /// `review retry TASK --as STAFF_EMAIL` and `review done TASK --note TEXT --as STAFF_EMAIL`.
    List { request_id: i64 },
    /// Moved to `review retry TASK --as STAFF_EMAIL` (an audited staff decision).
    #[command(hide = true)]
    Retry {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Moved to `review done TASK --note TEXT --as STAFF_EMAIL` (an audited staff decision).
    #[command(hide = true)]
    Done {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a staff account. The password is read from DSR_STAFF_PASSWORD, else from stdin.
    Add {
        email: String,
        /// reviewer (decides on requests) or admin (also manages staff).
        #[arg(long, default_value = "reviewer")]
        role: String,
    },
    /// Deactivate a staff account and end its sessions.
    Deactivate { email: String },
}

#[derive(Subcommand)]
enum ReviewCommand {
    /// Requests by deadline; by default those needing attention.
    List {
        /// A status, or `all`.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// One request: message, understanding, timeline, e-mails, decisions.
    Show {
        /// Request id or reference (DSR-2026-000123).
        request: String,
        #[arg(long)]
        json: bool,
    },
    /// Approve a flagged request as a kind, on the store match `review show` printed; it then
    /// runs like an automatic one.
    ///
    /// Refused until the stores have been searched, and when the match changed since you
    /// looked (its fingerprint differs). Conflicts, and open art. 8(2) obligations for erasure
    /// and consent withdrawal, hold the request unless you override them explicitly.
    Approve {
        request: String,
        #[arg(long)]
        kind: String,
        /// The store match fingerprint `review show` printed (the facts you approve).
        #[arg(long)]
        fingerprint: String,
        /// The identifiers point at different records and you have checked who it is.
        #[arg(long)]
        override_conflicts: bool,
        /// Go ahead despite an open obligation (law 94-V art. 8(2)).
        #[arg(long)]
        override_obligations: bool,
        /// The staff member deciding (an active account's e-mail).
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Reject with a reason, sent to the subject in the request's language (any open request;
    /// its open store tasks are cancelled).
    Reject {
        request: String,
        #[arg(long)]
        reason: String,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Close without action and without writing to the subject (any open request; its open
    /// store tasks are cancelled). The note is kept in the audit log.
    Close {
        request: String,
        #[arg(long)]
        note: String,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Send a failed request back through processing (to review if it was flagged and not
    /// approved).
    RetryRequest {
        request: String,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Ask the sender for more information.
    Ask {
        request: String,
        #[arg(long)]
        question: String,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Replay a failed store task.
    Retry {
        task_id: i64,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Mark a manual store task done (or record a processor's confirmation).
    Done {
        task_id: i64,
        /// What was done, and by whom.
        #[arg(long)]
        note: String,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Link a flagged request to the person it is about (replaces the sender's identifiers).
    Link {
        request: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        iin: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long = "as")]
        as_staff: String,
    },
}

#[derive(Subcommand)]
enum HoldsCommand {
    /// Destroy held rows whose retention has ended, now.
    Run,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// One pass now: mask sent one-time codes, reduce requests final for retention.final_days
    /// and mail never part of a request received retention.unattached_days ago.
    Run,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exit 1 and name the first broken entry if it was altered.
    Verify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Classify { paths, model, .. } => {
            let reader = match offline_reader(&cli.config, model.as_deref()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("dsr-worker classify: {e:#}");
                    return ExitCode::from(2);
                }
            };
            let mut out = std::io::stdout().lock();
            match understand_cli::classify_command(&paths, &reader, &mut out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("dsr-worker classify: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Eval {
            dirs,
            model,
            details,
        } => {
            let reader = match offline_reader(&cli.config, model.as_deref()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("dsr-worker eval: {e:#}");
                    return ExitCode::from(2);
                }
            };
            let mut out = std::io::stdout().lock();
            match understand_cli::eval_command(&dirs, &reader, &mut out) {
                Ok(reports) => {
                    if let Some(path) = details {
                        let lines: String = reports
                            .iter()
                            .flat_map(|r| &r.details)
                            .map(|d| format!("{d}\n"))
                            .collect();
                        if let Err(e) = std::fs::write(&path, lines) {
                            eprintln!("dsr-worker eval: writing {}: {e}", path.display());
                            return ExitCode::from(2);
                        }
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("dsr-worker eval: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Train {
            train,
            validation,
            out,
            bits,
            epochs,
            seed,
            learning_rate,
            l2,
            predictions,
        } => {
            let opts = TrainOptions {
                bits,
                epochs,
                seed,
                learning_rate,
                l2,
            };
            let mut stdout = std::io::stdout().lock();
            match understand_cli::train_command(
                &train,
                &validation,
                &out,
                predictions.as_deref(),
                &opts,
                &mut stdout,
            ) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("dsr-worker train: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        command => {
            let settings = match Settings::load(&cli.config) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("dsr-worker: {e}");
                    return ExitCode::from(2);
                }
            };
            telemetry::init(&settings.telemetry);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            match runtime.block_on(serve(command, settings)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("dsr-worker: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn serve(command: Command, settings: Settings) -> anyhow::Result<()> {
    let stages = match command {
        Command::Migrate => {
            let pool = db::connect(&settings.database).await?;
            db::migrate(&pool).await?;
            println!("migrations applied");
            return Ok(());
        }
        Command::Stores {
            command: StoresCommand::Check,
        } => return ops::stores_check(&settings).await,
        Command::Plan { request_id } => return ops::plan(&settings, request_id).await,
        Command::Tasks { command } => {
            return match command {
                TasksCommand::List { request_id } => ops::tasks_list(&settings, request_id).await,
                TasksCommand::Retry { .. } => anyhow::bail!(
                    "`tasks retry` is now `review retry TASK --as STAFF_EMAIL`: replaying a task is an audited staff decision"
                ),
                TasksCommand::Done { .. } => anyhow::bail!(
                    "`tasks done` is now `review done TASK --note TEXT --as STAFF_EMAIL`: marking a task done is an audited staff decision"
                ),
            }
        }
        Command::Holds {
            command: HoldsCommand::Run,
        } => return ops::holds_run(&settings).await,
        Command::Retention {
            command: RetentionCommand::Run,
        } => return ops::retention_run(&settings).await,
        Command::Run => Stages::ALL,
        Command::Intake => Stages {
            intake: true,
            processing: false,
        },
        Command::Process => Stages {
            intake: false,
            processing: true,
        },
        Command::Classify { .. } | Command::Eval { .. } | Command::Train { .. } => {
            unreachable!("handled without a runtime")
        }
        Command::Console => {
            return worker::run_console(settings, shutdown_on_signal()).await;
        }
        Command::Staff { command } => {
            let pool = db::connect(&settings.database).await?;
            db::migrate(&pool).await?;
            return match command {
                StaffCommand::Add { email, role } => {
                    let role: Role = role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
                    cli::staff_add(&pool, &email, role).await
                }
                StaffCommand::Deactivate { email } => cli::staff_deactivate(&pool, &email).await,
            };
        }
        Command::Review { command } => {
            let pool = db::connect(&settings.database).await?;
            db::migrate(&pool).await?;
            return match command {
                ReviewCommand::List { status, kind, json } => {
                    cli::list(&settings, &pool, status, kind, json).await
                }
                ReviewCommand::Show { request, json } => {
                    cli::show(&settings, &pool, &request, json).await
                }
                ReviewCommand::Approve {
                    request,
                    kind,
                    fingerprint,
                    override_conflicts,
                    override_obligations,
                    as_staff,
                } => {
                    let kind = cli::parse_kind(&kind)?;
                    cli::decide(
                        &settings,
                        &pool,
                        &request,
                        &as_staff,
                        Decision::Approve {
                            kind,
                            fingerprint,
                            override_conflicts,
                            override_obligations,
                        },
                    )
                    .await
                }
                ReviewCommand::Close {
                    request,
                    note,
                    as_staff,
                } => {
                    cli::decide(
                        &settings,
                        &pool,
                        &request,
                        &as_staff,
                        Decision::Close { note },
                    )
                    .await
                }
                ReviewCommand::RetryRequest { request, as_staff } => {
                    cli::decide(
                        &settings,
                        &pool,
                        &request,
                        &as_staff,
                        Decision::RetryRequest,
                    )
                    .await
                }
                ReviewCommand::Reject {
                    request,
                    reason,
                    as_staff,
                } => {
                    cli::decide(
                        &settings,
                        &pool,
                        &request,
                        &as_staff,
                        Decision::Reject { reason },
                    )
                    .await
                }
                ReviewCommand::Retry { task_id, as_staff } => {
                    let request = cli::request_of_task(&pool, task_id).await?;
                    cli::decide(
                        &settings,
                        &pool,
                        &request,
                        &as_staff,
                        Decision::RetryStoreTask { task_id },
                    )
                    .await
                }
                ReviewCommand::Done {
                    task_id,
                    note,
                    as_staff,
                } => {
                    let request = cli::request_of_task(&pool, task_id).await?;
                    cli::decide(
                        &settings,
                        &pool,
                        &request,
                        &as_staff,
                        Decision::MarkStoreTaskDone { task_id, note },
                    )
                    .await
                }
                ReviewCommand::Link {
                    request,
                    email,
                    iin,
                    phone,
                    as_staff,
                } => {
                    let mut subject = dsr_worker::stores::SubjectIds::default();
                    if let Some(email) = email {
                        let email = dsr_worker::domain::EmailAddress::parse(&email)
                            .map_err(|_| anyhow::anyhow!("--email is not a valid address"))?;
                        subject.emails.push(email.to_string());
                    }
                    if let Some(iin) = iin {
                        let iin = dsr_worker::domain::Iin::parse(&iin)
                            .map_err(|e| anyhow::anyhow!("--iin: {e}"))?;
                        subject.iins.push(iin.to_string());
                    }
                    if let Some(phone) = phone {
                        let phone = dsr_worker::domain::Phone::parse(&phone)
                            .ok_or_else(|| anyhow::anyhow!("--phone is not a valid number"))?;
                        subject.phones.push(phone.to_string());
                    }
                    cli::decide(
                        &settings,
                        &pool,
                        &request,
                        &as_staff,
                        Decision::LinkSubject { subject },
                    )
                    .await
                }
                ReviewCommand::Ask {
                    request,
                    question,
                    as_staff,
                } => {
                    cli::decide(
                        &settings,
                        &pool,
                        &request,
                        &as_staff,
                        Decision::AskInformation { question },
                    )
                    .await
                }
            };
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let pool = db::connect(&settings.database).await?;
            db::migrate(&pool).await?;
            if cli::verify(&pool).await? {
                return Ok(());
            }
            anyhow::bail!("the audit log's hash chain is broken");
        }
    };
    worker::run(settings, stages, shutdown_on_signal()).await
}

/// A token cancelled on Ctrl-C or SIGTERM.
fn shutdown_on_signal() -> CancellationToken {
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        ctrl_c.await.ok();
        on_signal.cancel();
    });
    shutdown
}

/// The company's contacts from the config file if it can be read; the agreement's otherwise.
/// The reader `classify` and `eval` use: the company, the cue vocabulary
/// (`understand.vocabulary_dir`) and `understand.model` from --config when it loads, the
/// built-in ones otherwise; `--model` wins over both.
fn offline_reader(
    config: &std::path::Path,
    model: Option<&std::path::Path>,
) -> anyhow::Result<Reader> {
    let settings = match Settings::load(config) {
        Ok(s) => Some(s),
        Err(e) => {
            // Say why a configuration that is there is not used (a bad vocabulary line, say).
            if config.exists() {
                eprintln!("dsr-worker: {e}; reading with the built-in contacts and vocabulary");
            }
            None
        }
    };
    if let Some(vocabulary) = settings
        .as_ref()
        .and_then(|s| s.understand.vocabulary().ok())
    {
        dsr_worker::understand::vocabulary::install(std::sync::Arc::new(vocabulary));
    }
    let company = settings
        .as_ref()
        .map(|s| Company::from_settings(&s.company))
        .unwrap_or_else(Company::nlg_defaults);
    let path = model
        .map(std::path::Path::to_path_buf)
        .or_else(|| settings.and_then(|s| s.understand.model));
    let statistical = match path {
        Some(p) => StatisticalReader::load(&p)?,
        None => StatisticalReader::embedded(),
    };
    Ok(Reader::new(company).with_statistical(statistical))
}
