//! The `groupd` binary: a thin CLI over the server and store crates. Every setting is a flag with a
//! `GROUPD_…` environment twin; input is checked before the database is touched.
mod backup;
mod exchange;
mod posthog;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use groupd_core::{
    Clock, PERSONAL_KEY_PREFIX, ProjectId, ProjectToken, ScopeSet, SecretDigest, SystemClock,
    generate_secret, mask_secret, time_fmt::format_us,
};
use groupd_server::{Application, CommonConfig, LogFormat, ServeConfig, telemetry};
use groupd_store::{NewApiKey, NewProject, StoreError, redact_url};
use serde_json::json;

/// groupd: self-hostable group analytics that speaks PostHog's wire protocol.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Settings of every command (accepted before or after the subcommand).
    #[command(flatten)]
    common: CommonConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (REST API, capture, query, health, metrics).
    Serve(Box<ServeConfig>),
    /// Bring the database schema up to date.
    Migrate,
    /// Manage projects.
    Project {
        #[command(subcommand)]
        action: ProjectAction,
    },
    /// Manage personal API keys.
    Key {
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Write a project's groups as NDJSON, one group a line (every type unless one is named).
    Export {
        /// The project's id.
        #[arg(long)]
        project: i64,
        /// Only this group type, by name or index.
        #[arg(long)]
        group_type: Option<String>,
        /// The groups as they were at this event time (RFC 3339), as `as_of` reads them.
        #[arg(long)]
        as_of: Option<String>,
        /// Write to this file (gzip when it ends in `.gz`) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Merge NDJSON groups into a project (capture's rules); prints the answer as one JSON line.
    Import {
        /// The project's id.
        #[arg(long)]
        project: i64,
        /// The NDJSON file (`-` = stdin, `.gz` read as gzip); not with --from-posthog.
        #[arg(
            required_unless_present = "from_posthog",
            conflicts_with = "from_posthog"
        )]
        file: Option<String>,
        /// Check every line, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write nothing when any line fails (exit 1).
        #[arg(long)]
        atomic: bool,
        /// Copy the groups of a PostHog project instead: the instance's base URL, e.g.
        /// `https://eu.posthog.com` (its `groups/` list, page by page, every group type).
        #[arg(long, requires = "personal_api_key")]
        from_posthog: Option<String>,
        /// A PostHog personal API key with group:read (with --from-posthog).
        #[arg(long, env = "POSTHOG_PERSONAL_API_KEY", hide_env_values = true)]
        personal_api_key: Option<String>,
        /// The PostHog project to copy from (with --from-posthog; default `@current`).
        #[arg(long, default_value = "@current")]
        posthog_project: String,
    },
    /// An online, consistent copy of a SQLite database (and its event segments to
    /// `FILE.segments/`) while servers run; PostgreSQL: use pg_dump.
    Backup {
        /// The copy's file; must not exist yet.
        #[arg(long)]
        out: PathBuf,
        /// Where the servers keep event segments (as `serve --data-dir`); default: next to the
        /// database (`<file>.segments/`).
        #[arg(long, env = "GROUPD_DATA_DIR")]
        data_dir: Option<String>,
    },
}

#[derive(Subcommand)]
enum ProjectAction {
    /// Create a project; prints it (with its public token) as one JSON line.
    Create {
        /// Project name.
        #[arg(long)]
        name: String,
        /// Keep an existing public token (e.g. the `phc_…` your SDKs already send to PostHog)
        /// instead of generating one.
        #[arg(long)]
        api_token: Option<String>,
    },
    /// List every project, one JSON line each (the object `project create` prints).
    List,
}

#[derive(Subcommand)]
enum KeyAction {
    /// Create a personal API key; prints it as one JSON line (the only time the key is shown).
    Create {
        /// Label, shown as the author of the key's changes.
        #[arg(long)]
        label: String,
        /// Comma-separated scopes: group:read, group:write, activity_log:read, query:read,
        /// project:read, project:write, *.
        #[arg(long)]
        scopes: String,
        /// Limit the key to this project (repeatable); none = every project.
        #[arg(long = "project")]
        projects: Vec<i64>,
    },
    /// List the live keys, one JSON line each, without their secret.
    List,
    /// Revoke a key: it stops working within a second on every server.
    Revoke {
        /// The key's id (`key list` shows it).
        id: i64,
    },
}

/// A refusal of the command's input that exits 2, as a usage error does.
#[derive(Debug)]
pub(crate) struct Refused(pub(crate) String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return command_line_error(e),
    };
    let log_format = cli.common.log_format;
    telemetry::init(log_format);
    if log_format == LogFormat::Json {
        // A panic is a fatal error too: one JSON line, not Rust's text.
        std::panic::set_hook(Box::new(|info| {
            tracing::error!(panic = %info, "groupd panicked");
        }));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return fatal(
                log_format,
                &anyhow::anyhow!("cannot start the runtime: {e}"),
            );
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(log_format, &e),
    }
}

/// Reports the error that ends the command, in the log format asked for; exits 2 for a refused
/// input, 1 otherwise.
fn fatal(log_format: LogFormat, e: &anyhow::Error) -> ExitCode {
    match log_format {
        LogFormat::Text => eprintln!("error: {e:#}"),
        LogFormat::Json => tracing::error!(error = %format!("{e:#}"), "groupd stopped"),
    }
    if e.is::<Refused>() {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

/// A command line clap refused (or `--help`/`--version`, printed as usual). With
/// `--log-format json` (or `GROUPD_LOG_FORMAT=json`) the error is one JSON log line like every
/// other fatal error, with clap's exit code (2).
fn command_line_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let informational = matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if informational || !json_logs_asked() {
        e.exit()
    }
    telemetry::init(LogFormat::Json);
    let message = e.render().to_string();
    tracing::error!(error = %message.trim(), "groupd stopped: invalid command line");
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}

/// Whether the command line (the last `--log-format` wins, as in clap) or else the environment
/// asks for JSON logs, read without clap (which refused the command line).
fn json_logs_asked() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let mut asked = None;
    for (i, arg) in args.iter().enumerate() {
        if let Some(v) = arg.strip_prefix("--log-format=") {
            asked = Some(v.to_owned());
        } else if arg == "--log-format" {
            asked = args.get(i + 1).cloned();
        }
    }
    asked
        .or_else(|| std::env::var("GROUPD_LOG_FORMAT").ok())
        .is_some_and(|v| v == "json")
}

/// How logs name the database: a SQLite file by its absolute path (a typo in a relative path
/// shows at once), PostgreSQL by its URL without the password; and whether the file is new.
struct DatabaseShown {
    shown: String,
    new_sqlite_file: bool,
}

impl DatabaseShown {
    fn before_open(url: &str) -> Self {
        match url.strip_prefix("sqlite://") {
            Some(path) => {
                let abs = std::path::absolute(path).unwrap_or_else(|_| path.into());
                Self {
                    new_sqlite_file: !abs.exists(),
                    shown: abs.display().to_string(),
                }
            }
            None => Self {
                shown: redact_url(url),
                new_sqlite_file: false,
            },
        }
    }

    fn after_open(&self) {
        if self.new_sqlite_file {
            tracing::warn!(
                database = %self.shown,
                "created a new, empty SQLite database at {} (no such file existed)",
                self.shown
            );
        }
    }
}

fn project_line(p: &groupd_store::Project) -> serde_json::Value {
    json!({"id": p.id, "name": p.name, "api_token": p.api_token, "created_at": format_us(p.created_at)})
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Validate input before touching the database: a refused command creates nothing.
    match &cli.command {
        Command::Key {
            action: KeyAction::Create { scopes, .. },
        } => {
            let parsed = ScopeSet::parse_list(scopes)?;
            anyhow::ensure!(!parsed.is_empty(), "--scopes needs at least one scope");
        }
        Command::Project {
            action: ProjectAction::Create { name, api_token },
        } => {
            anyhow::ensure!(!name.trim().is_empty(), "--name may not be blank");
            if let Some(t) = api_token {
                ProjectToken::parse(t.as_str()).map_err(|_| {
                    anyhow::anyhow!(
                        "--api-token must be 8 to 200 characters of letters, digits, '_' or '-'"
                    )
                })?;
            }
        }
        Command::Import {
            from_posthog: Some(url),
            ..
        } => {
            posthog::base_url(url).map_err(|e| Refused(format!("{e:#}")))?;
        }
        _ => {}
    }
    let database = DatabaseShown::before_open(&cli.common.database_url);
    let store = groupd_store::open(&cli.common.database_url, &cli.common.store).await?;
    database.after_open();
    let clock = SystemClock;
    match cli.command {
        Command::Serve(serve) => {
            let app = Application::build(serve.with_common(&cli.common), store).await?;
            tracing::info!(
                database = %database.shown,
                "groupd listening on http://{}",
                app.local_addr()
            );
            app.run_until_stopped().await?;
            tracing::info!("stopped");
        }
        Command::Migrate => {
            tracing::info!(database = %database.shown, "schema is up to date");
        }
        Command::Export {
            project,
            group_type,
            as_of,
            out,
        } => {
            exchange::export(
                &store,
                project,
                group_type.as_deref(),
                as_of.as_deref(),
                out.as_deref(),
            )
            .await?;
        }
        Command::Import {
            project,
            file,
            dry_run,
            atomic,
            from_posthog,
            personal_api_key,
            posthog_project,
        } => {
            let opts = exchange::ImportOptions {
                project: exchange::project(&store, project).await?,
                dry_run,
                atomic,
                max_group_types: cli.common.max_group_types,
                now_us: clock.now_us(),
            };
            let (answer, refused) = match (from_posthog, file) {
                (Some(url), _) => {
                    let key = personal_api_key.unwrap_or_default();
                    posthog::import(&store, opts, &url, &key, &posthog_project).await?
                }
                (None, Some(file)) => exchange::import_file(&store, opts, &file).await?,
                (None, None) => return Err(Refused("import needs a FILE".into()).into()),
            };
            println!("{answer}");
            anyhow::ensure!(
                !refused,
                "nothing was imported: the atomic import had failed lines"
            );
        }
        Command::Backup { out, data_dir } => {
            backup::backup(&store, data_dir, &out).await?;
        }
        Command::Project {
            action: ProjectAction::Create { name, api_token },
        } => {
            // Checked above, before the database was opened.
            let api_token = api_token.map(ProjectToken::parse).transpose()?;
            let p = store
                .create_project(NewProject { name, api_token }, clock.now_us())
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => {
                        anyhow::anyhow!("that --api-token is already used by another project")
                    }
                    e => e.into(),
                })?;
            println!("{}", project_line(&p));
        }
        Command::Project {
            action: ProjectAction::List,
        } => {
            for p in store.list_projects().await? {
                println!("{}", project_line(&p));
            }
        }
        Command::Key {
            action: KeyAction::List,
        } => {
            let mut keys = store.list_api_keys().await?;
            keys.sort_by_key(|k| k.id);
            for k in keys {
                println!(
                    "{}",
                    json!({"id": k.id, "label": k.label, "scopes": k.scopes.names(),
                           "projects": k.projects, "created_at": format_us(k.created_at),
                           "last_used_at": k.last_used_at.map(format_us), "mask_value": k.mask_value})
                );
            }
        }
        Command::Key {
            action: KeyAction::Revoke { id },
        } => {
            if !store.revoke_api_key(id, clock.now_us()).await? {
                return Err(Refused(format!("no live key has id {id}")).into());
            }
            println!("{}", json!({"id": id, "revoked": true}));
        }
        Command::Key {
            action:
                KeyAction::Create {
                    label,
                    scopes,
                    projects,
                },
        } => {
            let scopes = ScopeSet::parse_list(&scopes)?;
            let plaintext = generate_secret(PERSONAL_KEY_PREFIX);
            let projects = (!projects.is_empty())
                .then(|| projects.into_iter().map(ProjectId).collect::<Vec<_>>());
            let key = store
                .create_api_key(
                    NewApiKey {
                        label,
                        digest: SecretDigest::of(&plaintext),
                        mask_value: mask_secret(&plaintext),
                        scopes,
                        projects,
                    },
                    clock.now_us(),
                )
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => anyhow::anyhow!("a --project given does not exist"),
                    e => e.into(),
                })?;
            println!(
                "{}",
                json!({"id": key.id, "label": key.label, "key": plaintext,
                       "scopes": key.scopes.names(), "projects": key.projects})
            );
        }
    }
    Ok(())
}
