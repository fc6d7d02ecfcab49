package sqlite

import "github.com/slipway-ml/slipway/internal/store/sqlstore"

// migrations is SQLite's schema, oldest first. Applied migrations are
// recorded in the database: never edit one, append a new one.
//
// Tables are STRICT so a wrongly typed value fails instead of being stored
// as whatever it happens to be. Times are Unix nanoseconds (UTC); JSON
// columns hold NULL for an empty value.
var migrations = []sqlstore.Migration{{
	Version: 1,
	Name:    "create models, versions, aliases and alias history",
	Statements: []string{
		`CREATE TABLE models (
			name        TEXT PRIMARY KEY,
			description TEXT NOT NULL DEFAULT '',
			owner       TEXT NOT NULL DEFAULT '',
			tags        TEXT,
			created_at  INTEGER NOT NULL
		) STRICT`,
		// id only orders versions created in the same nanosecond.
		`CREATE TABLE versions (
			id         INTEGER PRIMARY KEY AUTOINCREMENT,
			model      TEXT NOT NULL REFERENCES models (name),
			version    TEXT NOT NULL,
			format     TEXT NOT NULL,
			digest     TEXT NOT NULL DEFAULT '',
			size       INTEGER NOT NULL DEFAULT 0,
			url        TEXT NOT NULL DEFAULT '',
			signature  TEXT,
			metrics    TEXT,
			meta       TEXT,
			parent     TEXT NOT NULL DEFAULT '',
			data_ref   TEXT NOT NULL DEFAULT '',
			data_hash  TEXT NOT NULL DEFAULT '',
			card       TEXT NOT NULL DEFAULT '',
			state      TEXT NOT NULL,
			created_at INTEGER NOT NULL,
			created_by TEXT NOT NULL DEFAULT '',
			UNIQUE (model, version)
		) STRICT`,
		`CREATE INDEX versions_digest ON versions (digest)`,
		`CREATE TABLE aliases (
			model      TEXT NOT NULL,
			name       TEXT NOT NULL,
			version    TEXT NOT NULL,
			updated_at INTEGER NOT NULL,
			updated_by TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (model, name),
			FOREIGN KEY (model, version) REFERENCES versions (model, version) ON DELETE RESTRICT
		) STRICT`,
		`CREATE INDEX aliases_version ON aliases (model, version)`,
		// No foreign keys: history outlives the aliases and versions it names.
		`CREATE TABLE alias_history (
			id           INTEGER PRIMARY KEY AUTOINCREMENT,
			model        TEXT NOT NULL,
			alias        TEXT NOT NULL,
			from_version TEXT NOT NULL DEFAULT '',
			to_version   TEXT NOT NULL DEFAULT '',
			actor        TEXT NOT NULL DEFAULT '',
			reason       TEXT NOT NULL DEFAULT '',
			at           INTEGER NOT NULL
		) STRICT`,
		`CREATE INDEX alias_history_alias ON alias_history (model, alias)`,
	},
}, {
	Version: 2,
	Name:    "create routes and route history",
	Statements: []string{
		`CREATE TABLE routes (
			model      TEXT PRIMARY KEY REFERENCES models (name) ON DELETE CASCADE,
			policy     TEXT NOT NULL,
			updated_at INTEGER NOT NULL,
			updated_by TEXT NOT NULL DEFAULT '',
			reason     TEXT NOT NULL DEFAULT ''
		) STRICT`,
		// No foreign key: the history outlives the model.
		`CREATE TABLE route_history (
			id     INTEGER PRIMARY KEY AUTOINCREMENT,
			model  TEXT NOT NULL,
			policy TEXT,
			actor  TEXT NOT NULL DEFAULT '',
			reason TEXT NOT NULL DEFAULT '',
			at     INTEGER NOT NULL
		) STRICT`,
		`CREATE INDEX route_history_model ON route_history (model)`,
	},
}, {
	Version: 3,
	Name:    "create rollouts, rollout events and the controller heartbeat",
	Statements: []string{
		// Deleting a model deletes its rollouts, as it deletes its alias
		// and route history. live mirrors Status.Live() so that the
		// database itself allows one live rollout per model; zero times
		// (a rollout never paused) are NULL.
		`CREATE TABLE rollouts (
			id           INTEGER PRIMARY KEY AUTOINCREMENT,
			model        TEXT NOT NULL REFERENCES models (name) ON DELETE CASCADE,
			candidate    TEXT NOT NULL,
			baseline     TEXT NOT NULL DEFAULT '',
			baseline_ref TEXT NOT NULL DEFAULT '',
			strategy     TEXT NOT NULL DEFAULT '',
			spec         TEXT NOT NULL DEFAULT '',
			status       TEXT NOT NULL,
			live         INTEGER NOT NULL CHECK (live IN (0, 1)),
			step         INTEGER NOT NULL,
			step_started INTEGER,
			paused_at    INTEGER,
			previous     TEXT NOT NULL DEFAULT '',
			reason       TEXT NOT NULL DEFAULT '',
			applied      INTEGER NOT NULL CHECK (applied IN (0, 1)),
			rev          INTEGER NOT NULL,
			created_by   TEXT NOT NULL DEFAULT '',
			created_at   INTEGER NOT NULL,
			updated_at   INTEGER NOT NULL
		) STRICT`,
		`CREATE INDEX rollouts_model ON rollouts (model, id)`,
		`CREATE UNIQUE INDEX rollouts_one_live ON rollouts (model) WHERE live`,
		// seq numbers each rollout's events from 1.
		`CREATE TABLE rollout_events (
			rollout   INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
			seq       INTEGER NOT NULL,
			at        INTEGER NOT NULL,
			actor     TEXT NOT NULL DEFAULT '',
			kind      TEXT NOT NULL,
			status    TEXT NOT NULL,
			step      INTEGER NOT NULL,
			step_name TEXT NOT NULL DEFAULT '',
			weight    INTEGER NOT NULL,
			reason    TEXT NOT NULL DEFAULT '',
			verdict   TEXT,
			PRIMARY KEY (rollout, seq)
		) STRICT`,
		// One row at most; previous is the heartbeat before at.
		`CREATE TABLE controller_heartbeat (
			id       INTEGER PRIMARY KEY CHECK (id = 1),
			at       INTEGER NOT NULL,
			previous INTEGER
		) STRICT`,
	},
}, {
	Version: 4,
	Name:    "create gate reports and approvals",
	Statements: []string{
		// Both are append-only and go with their version: deleting the
		// version deletes its reports and approvals.
		`CREATE TABLE gate_reports (
			id      INTEGER PRIMARY KEY AUTOINCREMENT,
			model   TEXT NOT NULL,
			version TEXT NOT NULL,
			passed  INTEGER NOT NULL CHECK (passed IN (0, 1)),
			report  TEXT NOT NULL,
			actor   TEXT NOT NULL DEFAULT '',
			at      INTEGER NOT NULL,
			FOREIGN KEY (model, version) REFERENCES versions (model, version) ON DELETE CASCADE
		) STRICT`,
		`CREATE INDEX gate_reports_version ON gate_reports (model, version, id)`,
		`CREATE TABLE approvals (
			id      INTEGER PRIMARY KEY AUTOINCREMENT,
			model   TEXT NOT NULL,
			version TEXT NOT NULL,
			role    TEXT NOT NULL,
			actor   TEXT NOT NULL DEFAULT '',
			note    TEXT NOT NULL DEFAULT '',
			at      INTEGER NOT NULL,
			FOREIGN KEY (model, version) REFERENCES versions (model, version) ON DELETE CASCADE
		) STRICT`,
		`CREATE INDEX approvals_version ON approvals (model, version, id)`,
	},
}}
