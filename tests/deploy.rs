//! The deployment files (docs/deploying.md), checked by reading them, since no container engine
//! runs where the tests do: the YAML parses (with PyYAML, which the contract test's tools bring),
//! the services and objects are the ones the doc describes, the image's command is one the
//! `ratewire` binary accepts, and the settings the files carry pass `ratewire check-config`.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use ratewire_gateway::cli::Cli;
use ratewire_gateway::cli::settings::Settings;
use serde_json::Value;

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// Every document of a YAML file, as JSON.
fn yaml_documents(path: &str) -> Vec<Value> {
    let file = repository(path);
    let read = "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))";
    let output = Command::new("python3").arg("-c").arg(read).arg(&file).output().unwrap_or_else(|error| {
        panic!("reading YAML needs python3 with PyYAML ({error}): install python3 and run pip install pyyaml")
    });
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(!errors.contains("No module named 'yaml'"), "reading YAML needs PyYAML: run pip install pyyaml");
    assert!(output.status.success(), "{path} is no valid YAML: {errors}");
    serde_json::from_slice(&output.stdout).expect("PyYAML's documents as JSON")
}

/// Checks a settings file's text as `ratewire check-config` does.
fn check_settings(name: &str, text: &str) {
    let file = std::env::temp_dir().join(format!("ratewire-deploy-{}-{name}.toml", std::process::id()));
    std::fs::write(&file, text).expect("a temporary file");
    let checked = Settings::load_file(&file).and_then(|settings| settings.check());
    let _ = std::fs::remove_file(&file);
    if let Err(error) = checked {
        panic!("{name}'s settings don't pass check-config: {error}");
    }
}

/// Whether `ratewire` accepts these arguments.
fn accepted(arguments: &[&str]) {
    let mut command = vec!["ratewire"];
    command.extend_from_slice(arguments);
    if let Err(error) = Cli::try_parse_from(&command) {
        panic!("ratewire refuses {arguments:?}: {error}");
    }
}

#[test]
fn the_image_is_built_as_ci_builds_and_runs_a_command_the_binary_accepts() {
    let dockerfile = std::fs::read_to_string(repository("Dockerfile")).expect("the Dockerfile");
    let instructions: Vec<&str> = dockerfile.lines().filter(|line| !line.trim_start().starts_with('#')).collect();
    let stages = instructions.iter().filter(|line| line.starts_with("FROM ")).count();
    assert_eq!(stages, 2, "a build stage and a run stage");
    assert!(dockerfile.contains("cargo build --release --locked"), "built from the lock file, as CI builds");
    let user = instructions.iter().rev().find_map(|line| line.strip_prefix("USER ")).expect("a USER");
    assert!(!["root", "0", "0:0"].contains(&user.trim()), "runs as a user of its own, not {user}");
    let json_array = |instruction: &str| -> Vec<String> {
        let line = instructions.iter().rev().find_map(|line| line.strip_prefix(instruction)).expect(instruction);
        serde_json::from_str(line.trim()).unwrap_or_else(|error| panic!("{instruction} in exec form: {error}"))
    };
    let entrypoint = json_array("ENTRYPOINT ");
    assert!(entrypoint[0].ends_with("/ratewire"), "{entrypoint:?}");
    let command = json_array("CMD ");
    accepted(&command.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn the_compose_file_runs_three_gateways_on_a_redis_cluster_behind_a_balancer() {
    let [compose] = yaml_documents("deploy/compose.yaml").try_into().expect("one document");
    let services = compose["services"].as_object().expect("services");
    for gateway in ["gateway-1", "gateway-2", "gateway-3"] {
        let service = &services[gateway];
        assert_eq!(service["build"]["dockerfile"], "Dockerfile", "{gateway} runs the image");
        let nodes = service["environment"]["RATEWIRE_REDIS_CLUSTER_NODES"].as_str().expect("cluster nodes");
        for node in nodes.split(',') {
            let host = node.split(':').next().unwrap();
            assert!(services.contains_key(host), "{gateway}'s node {node} is a service");
        }
        assert_eq!(service["depends_on"]["redis-cluster"]["condition"], "service_completed_successfully");
    }
    let redis_nodes: Vec<&Value> = (1..=6).map(|n| &services[&format!("redis-{n}")]).collect();
    for node in &redis_nodes {
        let command: Vec<&str> = node["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        let setting = |name: &str| command.iter().position(|a| *a == name).map(|i| command[i + 1]);
        assert_eq!(setting("--cluster-enabled"), Some("yes"));
        assert_eq!(setting("--appendonly"), Some("yes"), "durable, as docs/delivery.md asks");
        assert_eq!(setting("--maxmemory-policy"), Some("noeviction"));
    }
    let create = services["redis-cluster"]["command"].as_str().expect("the cluster's creation");
    assert!(create.contains("--cluster create") && create.contains("--cluster-replicas 1"), "{create}");
    // The balancer sends to the three gateways, WebSockets included.
    let balancer = &services["balancer"];
    assert!(balancer["volumes"][0].as_str().unwrap().starts_with("./nginx.conf:"));
    let nginx = std::fs::read_to_string(repository("deploy/nginx.conf")).expect("nginx.conf");
    for gateway in ["gateway-1", "gateway-2", "gateway-3"] {
        assert!(nginx.contains(&format!("server {gateway}:8080")), "nginx sends to {gateway}");
    }
    assert!(nginx.contains("proxy_set_header Upgrade $http_upgrade;"), "the widget's WebSocket passes");
    let settings = std::fs::read_to_string(repository("deploy/ratewire.toml")).expect("the gateways' settings");
    // Redis comes from the environment there: the file with it.
    check_settings("compose", &format!("redis_cluster_nodes = [\"redis-1:6379\"]\n{settings}"));
}

#[test]
fn the_kubernetes_manifests_run_gateways_with_probes_and_their_settings_from_a_secret() {
    let documents = yaml_documents("deploy/kubernetes/ratewire.yaml");
    let of_kind = |kind: &str| documents.iter().find(|d| d["kind"] == kind).unwrap_or_else(|| panic!("a {kind}"));
    let (secret, deployment) = (of_kind("Secret"), of_kind("Deployment"));
    let (service, budget) = (of_kind("Service"), of_kind("PodDisruptionBudget"));

    let settings = secret["stringData"]["ratewire.toml"].as_str().expect("the settings file");
    check_settings("kubernetes", settings);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(pod["volumes"][0]["secret"]["secretName"], secret["metadata"]["name"]);
    assert_eq!(container["volumeMounts"][0]["mountPath"], "/etc/ratewire");
    let arguments: Vec<&str> = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    accepted(&arguments);
    assert_eq!(arguments.last(), Some(&"/etc/ratewire/ratewire.toml"));
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);

    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for selector in [&service["spec"]["selector"], &budget["spec"]["selector"]["matchLabels"]] {
        let selector = selector.as_object().expect("a selector");
        assert!(selector.iter().all(|(key, value)| &labels[key] == value), "selects the gateways: {selector:?}");
    }
    let replicas = deployment["spec"]["replicas"].as_u64().unwrap();
    let available = budget["spec"]["minAvailable"].as_u64().unwrap();
    assert!(replicas >= 2 && available < replicas, "a drain can move a gateway: {available} of {replicas}");
}

#[test]
fn the_readmes_smallest_production_setup_passes_check_config() {
    let readme = std::fs::read_to_string(repository("README.md")).expect("the README");
    let (_, after) = readme.split_once("<!-- production-settings -->").expect("the README's production settings");
    let block = after.split_once("```toml\n").and_then(|(_, rest)| rest.split_once("```")).map(|(toml, _)| toml);
    let settings = block.expect("a TOML block after the marker");
    assert!(settings.contains("rediss://"), "over TLS: {settings}");
    check_settings("the README's production setup", settings);
}
