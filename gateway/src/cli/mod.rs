//! The `ratewire` command: run the service, read replies from the command line, check a
//! settings file, make an API key.

pub mod parse;
pub mod serve;
pub mod settings;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ratewire_core::{Locale, Scale};

use self::settings::Settings;

/// ratewire asks end users how their support conversation went, in the channel they already
/// use, and understands their answer.
#[derive(Parser)]
#[command(name = "ratewire", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the gateway. With no settings at all, it runs the demo.
    Serve(serve::ServeOptions),
    /// Read replies as JSON lines on standard input and print how each is understood.
    Parse {
        /// The scale for lines that name none: stars:N (2–10), numeric:MIN-MAX or emoji:5.
        #[arg(long, default_value = "stars:5")]
        scale: Scale,
        /// The locale for lines that name none.
        #[arg(long, default_value = "en")]
        locale: Locale,
    },
    /// Check a settings file and report every problem with its field.
    CheckConfig {
        /// The TOML file to check.
        file: PathBuf,
    },
    /// Make a new API key: prints the key (give it to the tenant) and its hash (put it in the
    /// settings file).
    NewKey,
}

/// Runs the command the arguments name.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Parse { scale, locale } => {
            let interactive = std::io::stdin().is_terminal();
            let stdin = std::io::stdin().lock();
            let stdout = std::io::BufWriter::new(std::io::stdout().lock());
            match parse::run(stdin, stdout, scale, locale, interactive) {
                Ok(()) => ExitCode::SUCCESS,
                // A closed pipe downstream (`| head`) is a normal way to stop.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ratewire parse: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve(options) => serve::run(options),
        Command::CheckConfig { file } => {
            // The file alone is checked: the environment of this shell is not the service's.
            match Settings::load_file(&file).and_then(|settings| settings.check()) {
                Ok(_) => {
                    println!("{}: ok", file.display());
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("{}: {error}", file.display());
                    ExitCode::FAILURE
                }
            }
        }
        Command::NewKey => {
            let key = crate::http::auth::new_key();
            println!("key:  {key}");
            println!("hash: sha256:{}", crate::http::auth::digest(&key));
            ExitCode::SUCCESS
        }
    }
}
