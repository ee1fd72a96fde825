//! The `dsr-worker` command line: the clap types ([`Cli`], [`Command`]) and the dispatch to one
//! file per command group. `main.rs` only calls [`main`].
//!
//! - [`run`] — `run`, `intake`, `process`, `console`: the long-running worker.
//! - [`migrate`] — `migrate`.
//! - [`stores`] — `stores check`, `plan`.
//! - [`tasks`] — `tasks list` (and the moved `tasks retry|done`).
//! - [`holds`] — `holds run`; [`retention`] — `retention run`.
//! - [`staff`] — `staff add|deactivate`; [`review`] — `review ...`; [`audit`] — `audit verify`.
//! - [`understand`] — `classify`, `eval`, `train`: offline, they never connect to anything.
//!
//! The commands that use the database run on one [`Application`], built once: settings loaded,
//! pool connected (and migrated where the command always did). The library never imports
//! this module.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::pipeline::Stages;
use crate::telemetry;
use crate::understand::statistical::train::Options as TrainOptions;

mod app;
pub mod audit;
pub mod holds;
pub mod migrate;
pub mod retention;
pub mod review;
pub mod run;
pub mod staff;
pub mod stores;
pub mod tasks;
pub mod understand;

pub use app::Application;
use audit::AuditCommand;
use holds::HoldsCommand;
use retention::RetentionCommand;
use review::ReviewCommand;
use staff::StaffCommand;
use stores::StoresCommand;
use tasks::TasksCommand;

#[derive(Parser)]
#[command(
    name = "dsr-worker",
    version,
    about = "Data-subject requests for NLG.KZ LLP: reads info@nlg.kz, understands requests \
             (kk/ru/en), queues them in RabbitMQ and answers the subject.",
    long_about = None
)]
pub struct Cli {
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
pub enum Command {
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

/// Parses the command line and runs the command; the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Classify { paths, model, .. } => {
            understand::classify(&cli.config, &paths, model.as_deref())
        }
        Command::Eval {
            dirs,
            model,
            details,
        } => understand::eval(&cli.config, &dirs, model.as_deref(), details),
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
            understand::train(&train, &validation, &out, predictions.as_deref(), &opts)
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

/// Runs a command that needs the settings (and, through [`Application`], the database).
async fn serve(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Run => run::run(settings, Stages::ALL).await,
        Command::Intake => {
            run::run(
                settings,
                Stages {
                    intake: true,
                    processing: false,
                },
            )
            .await
        }
        Command::Process => {
            run::run(
                settings,
                Stages {
                    intake: false,
                    processing: true,
                },
            )
            .await
        }
        Command::Console => run::console(settings).await,
        Command::Migrate => migrate::run(&Application::build(settings).await?),
        Command::Stores { command } => stores::run(&settings, command).await,
        Command::Plan { request_id } => {
            stores::plan(&Application::connect(settings).await?, request_id).await
        }
        Command::Tasks { command } => tasks::run(settings, command).await,
        Command::Holds { command } => {
            holds::run(&Application::connect(settings).await?, command).await
        }
        Command::Retention { command } => {
            retention::run(&Application::build(settings).await?, command).await
        }
        Command::Staff { command } => {
            staff::run(&Application::build(settings).await?, command).await
        }
        Command::Review { command } => {
            review::run(&Application::build(settings).await?, command).await
        }
        Command::Audit { command } => {
            audit::run(&Application::build(settings).await?, command).await
        }
        Command::Classify { .. } | Command::Eval { .. } | Command::Train { .. } => {
            unreachable!("handled without a runtime")
        }
    }
}
