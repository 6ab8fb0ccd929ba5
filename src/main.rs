use clap::Parser;

use rolegate::config::Cli;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    rolegate::telemetry::init(&cli.log.log_level, cli.log.log_format);
    rolegate::cli::execute(cli).await
}
