//! `classify`, `eval` and `train`: what the worker understands of mail, measured on labelled
//! corpora, and the statistical reader's training. They need no services and never connect;
//! the company's contacts, vocabulary and model come from --config when it loads.
//!
//! `classify` prints one JSON object per message with exactly the fields of
//! `corpus/README.md`; `eval` prints the figures of [`crate::understand::eval`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::config::Settings;
use crate::understand::eval::{classify_file, collect_files, eval_corpus, EvalReport};
use crate::understand::statistical::train::{self, Options};
use crate::understand::{Company, Reader, StatisticalReader};

/// `classify`: exit code 2 for usage errors only.
pub fn classify(config: &Path, paths: &[PathBuf], model: Option<&Path>) -> ExitCode {
    let reader = match offline_reader(config, model) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dsr-worker classify: {e:#}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    match classify_command(paths, &reader, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dsr-worker classify: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `eval`, with `--details` written to `details`.
pub fn eval(
    config: &Path,
    dirs: &[PathBuf],
    model: Option<&Path>,
    details: Option<PathBuf>,
) -> ExitCode {
    let reader = match offline_reader(config, model) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dsr-worker eval: {e:#}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    match eval_command(dirs, &reader, &mut out) {
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

/// `train`.
pub fn train(
    train: &[PathBuf],
    validation: &[PathBuf],
    out: &Path,
    predictions: Option<&Path>,
    opts: &Options,
) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match train_command(train, validation, out, predictions, opts, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dsr-worker train: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `dsr-worker classify --json PATH...`: one JSON object per message, one per line. Unreadable
/// files give an `error` line; only a usage error (a path that does not exist) fails.
pub fn classify_command(
    paths: &[PathBuf],
    reader: &Reader,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if paths.is_empty() {
        anyhow::bail!("classify needs at least one file or directory");
    }
    for p in paths {
        if !p.exists() {
            anyhow::bail!("no such file or directory: {}", p.display());
        }
    }
    for path in collect_files(paths)? {
        let shown = path.display().to_string();
        let line = classify_file(reader, &path, &shown);
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `dsr-worker eval DIR...`: classify every labelled message of each corpus and compare.
pub fn eval_command(
    dirs: &[PathBuf],
    reader: &Reader,
    out: &mut impl Write,
) -> anyhow::Result<Vec<EvalReport>> {
    if dirs.is_empty() {
        anyhow::bail!("eval needs at least one corpus directory");
    }
    let mut reports = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let r = eval_corpus(dir, reader)?;
        if i > 0 {
            writeln!(out)?;
        }
        r.write(out)?;
        reports.push(r);
    }
    Ok(reports)
}

/// `dsr-worker train`: fits the statistical reader and writes its model file.
pub fn train_command(
    train_dirs: &[PathBuf],
    validation_dirs: &[PathBuf],
    model_path: &Path,
    predictions: Option<&Path>,
    opts: &Options,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let model = train::train(train_dirs, validation_dirs, opts, out)?;
    if let Some(p) = predictions {
        std::fs::write(p, train::predictions_jsonl(&model, validation_dirs)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    let bytes = model.to_bytes();
    std::fs::write(model_path, &bytes)
        .with_context(|| format!("writing {}", model_path.display()))?;
    writeln!(
        out,
        "wrote {} ({} bytes)",
        model_path.display(),
        bytes.len()
    )?;
    Ok(())
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
        crate::understand::vocabulary::install(std::sync::Arc::new(vocabulary));
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
