//! The local provider's server starts with a clean environment: the tool's own (tokens,
//! database URLs) never reaches it, so nothing the server runs or reads can give it away.

use migration_guard::db::Database;
use migration_guard::shadow::local::LocalCluster;

#[tokio::test]
async fn the_local_server_does_not_inherit_the_tools_environment() {
    // The only test in this binary: nothing else reads the environment meanwhile.
    unsafe { std::env::set_var("SUPABASE_ACCESS_TOKEN", "sbp_do_not_leak_0123456789") };
    let cluster = LocalCluster::start(None).await.expect("a local cluster");
    let admin = Database::connect(&cluster.admin_config()).await.unwrap();
    // As the cluster's superuser (the tool's own session), read the server's environment.
    let rows = admin
        .client
        .simple_query(
            "CREATE TEMP TABLE server_env (line text); \
             COPY server_env FROM PROGRAM 'env'; \
             SELECT string_agg(line, E'\\n') FROM server_env",
        )
        .await
        .unwrap();
    let env = rows
        .iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .expect("the server's environment");
    assert!(env.contains("PATH="), "{env}");
    assert!(!env.contains("sbp_do_not_leak"), "{env}");
    assert!(!env.contains("SUPABASE_ACCESS_TOKEN"), "{env}");
}
