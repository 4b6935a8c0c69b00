//! The API's routes as data ([`RouteDoc`]), from which both the router and the OpenAPI 3.1
//! document are built, so that the document lists exactly the routes served, each with the one
//! permission it checks. Schemas come from the wire types (schemars).

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};
use shieldwall_auth::permission::Action;

use super::problem::Problem;

/// The HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

impl Method {
    /// Lower case, as OpenAPI keys operations.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Delete => "delete",
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Anyone (health, login, the OpenAPI document).
    Public,
    /// Any signed-in account, for its own things.
    SignedIn,
    /// A binding in the route's scope whose role allows the action.
    Permission(Action),
}

/// A schema-producing function.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// What a successful response carries.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// JSON of a schema.
    Json(SchemaFn),
    /// Text of a media type.
    Text(&'static str),
    /// Nothing (204).
    Empty,
}

/// One route.
#[derive(Debug)]
pub struct RouteDoc {
    /// Method.
    pub method: Method,
    /// Path, with `{name}` parameters; `{tenant}` makes the route's scope the tenant.
    pub path: &'static str,
    /// The OpenAPI operation id.
    pub operation: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Who may call it.
    pub guard: Guard,
    /// The query parameters' type (an object whose properties are the parameters).
    pub query: Option<SchemaFn>,
    /// The request body.
    pub request: Option<SchemaFn>,
    /// The success status.
    pub status: u16,
    /// The success body.
    pub response: Body,
}

/// The schema function of a type.
pub fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// The OpenAPI 3.1 document of `routes`.
pub fn openapi(routes: &[&RouteDoc]) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = settings.into_generator();
    let problem = generator.subschema_for::<Problem>();
    let mut paths: Map<String, Value> = Map::new();
    for route in routes {
        let mut parameters = Vec::new();
        for name in path_parameters(route.path) {
            parameters.push(json!({
                "name": name, "in": "path", "required": true,
                "schema": match name {
                    "tenant" => json!({"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$"}),
                    "name" => json!({"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,122}\\.ya?ml$"}),
                    "policy" => json!({"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}),
                    _ => json!({"type": "integer", "format": "int64", "minimum": 1}),
                }
            }));
        }
        if let Some(query) = route.query {
            parameters.extend(query_parameters(query(&mut generator), &generator));
        }
        let mut operation = json!({
            "operationId": route.operation,
            "summary": route.summary,
            "parameters": parameters,
            "responses": {
                route.status.to_string(): success(route.response, &mut generator),
                "default": {
                    "description": "A problem (RFC 9457)",
                    "content": {"application/problem+json": {"schema": problem.clone()}}
                }
            }
        });
        if let Some(request) = route.request {
            set(
                &mut operation,
                "requestBody",
                json!({
                    "required": true,
                    "content": {"application/json": {"schema": request(&mut generator)}}
                }),
            );
        }
        match route.guard {
            Guard::Public => set(&mut operation, "security", json!([])),
            Guard::SignedIn => {}
            Guard::Permission(action) => {
                set(&mut operation, "x-shieldwall-permission", json!(action));
            }
        }
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        set(entry, route.method.as_str(), operation);
    }
    let schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Shieldwall API",
            "version": "1",
            "description": "The security management centre's API. Every tenant route names its tenant in the path; the caller needs a role binding there whose role allows the route's permission (x-shieldwall-permission). Errors are RFC 9457 problem details."
        },
        "servers": [{"url": "/"}],
        "security": [{"session": []}, {"token": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": super::auth::SESSION_COOKIE,
                    "description": "The console's session (POST /api/v1/login); requests other than GET also send the X-CSRF-Token header."},
                "token": {"type": "http", "scheme": "bearer",
                    "description": "An API token (swa_...), scoped to one role binding."}
            }
        }
    })
}

/// Sets `key` of an object (a no-op on anything else).
fn set(target: &mut Value, key: &str, value: Value) {
    if let Some(object) = target.as_object_mut() {
        object.insert(key.to_owned(), value);
    }
}

fn success(body: Body, generator: &mut SchemaGenerator) -> Value {
    match body {
        Body::Json(schema) => json!({
            "description": "Success",
            "content": {"application/json": {"schema": schema(generator)}}
        }),
        Body::Text(media) => json!({
            "description": "Success",
            "content": {media: {"schema": {"type": "string"}}}
        }),
        Body::Empty => json!({"description": "Done"}),
    }
}

fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

/// The properties of a query type's object schema as OpenAPI parameters.
fn query_parameters(schema: Schema, generator: &SchemaGenerator) -> Vec<Value> {
    let mut value = schema.to_value();
    // A referenced schema: look it up among the definitions.
    if let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default().to_owned();
        if let Some(found) = generator.definitions().get(&name) {
            value = found.clone();
        }
    }
    let required: Vec<&str> = value
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = value.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let mut property = property.clone();
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
            });
            if let Some(object) = property.as_object_mut() {
                if let Some(description) = object.remove("description") {
                    set(&mut parameter, "description", description);
                }
                // A query parameter is absent or has a value: `null` is not one.
                if let Some(Value::Array(types)) = object.get_mut("type") {
                    types.retain(|t| t != "null");
                    if let [one] = types.as_slice() {
                        let one = one.clone();
                        object.insert("type".to_owned(), one);
                    }
                }
                object.remove("default");
                if let Some(Value::Array(branches)) = object.get_mut("anyOf") {
                    branches.retain(|b| b.get("type").and_then(Value::as_str) != Some("null"));
                    if let [one] = branches.as_slice() {
                        let one = one.clone();
                        object.remove("anyOf");
                        if let Some(fields) = one.as_object() {
                            object.extend(fields.clone());
                        }
                    }
                }
            }
            set(&mut parameter, "schema", property);
            parameter
        })
        .collect()
}
