use crate::helpers::{client, spawn_app, Backend};
use crate::on_both_backends;

on_both_backends!(
    health_readiness_and_metrics_answer,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        assert_eq!(app.get(&c, "/healthz").await.0, 200);
        assert_eq!(app.get(&c, "/readyz").await.0, 200);
        app.get(&c, "/tours/maple-court").await;
        let (s, text) = app.get(&c, "/metrics").await;
        assert_eq!(s, 200);
        assert!(text.contains("# TYPE tourgate_http_requests_total counter"));
        assert!(text.contains(r#"route="/tours/{community}""#), "{text}");
        assert!(
            text.contains(r#"tourgate_knock_calls_total{endpoint="available_times",outcome="ok"}"#),
            "{text}"
        );
        assert!(text.contains("tourgate_knock_call_duration_seconds_bucket"));
    }
);

on_both_backends!(
    readiness_fails_when_the_database_is_gone,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        app.app_store.close().await;
        assert_eq!(app.get(&client(), "/readyz").await.0, 503);
    }
);
