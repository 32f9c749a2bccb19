use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ratewire_core::{Locale, Scale};
use ratewire_gateway::{parse_command, serve};

/// ratewire asks end users how their support conversation went, in the channel they already
/// use, and understands their answer.
#[derive(Parser)]
#[command(name = "ratewire", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Parse { scale, locale } => {
            let interactive = std::io::stdin().is_terminal();
            let stdin = std::io::stdin().lock();
            let stdout = std::io::BufWriter::new(std::io::stdout().lock());
            match parse_command::run(stdin, stdout, scale, locale, interactive) {
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
    }
}
