package postgres

import "github.com/slipway-ml/slipway/internal/store/sqlstore"

// migrations is PostgreSQL's schema, oldest first. Applied migrations are
// recorded in the database: never edit one, append a new one.
//
// Names sort with COLLATE "C", byte by byte, so lists come back in the
// same order as from SQLite whatever the database's locale. Times are Unix
// nanoseconds (UTC): TIMESTAMPTZ would keep only microseconds. JSON
// columns hold NULL for an empty value.
var migrations = []sqlstore.Migration{{
	Version: 1,
	Name:    "create models, versions, aliases and alias history",
	Statements: []string{
		`CREATE TABLE models (
			name        TEXT COLLATE "C" PRIMARY KEY,
			description TEXT NOT NULL DEFAULT '',
			owner       TEXT NOT NULL DEFAULT '',
			tags        JSONB,
			created_at  BIGINT NOT NULL
		)`,
		// id only orders versions created in the same nanosecond.
		`CREATE TABLE versions (
			id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			model      TEXT COLLATE "C" NOT NULL REFERENCES models (name),
			version    TEXT COLLATE "C" NOT NULL,
			format     TEXT NOT NULL,
			digest     TEXT NOT NULL DEFAULT '',
			size       BIGINT NOT NULL DEFAULT 0,
			url        TEXT NOT NULL DEFAULT '',
			signature  JSONB,
			metrics    JSONB,
			meta       JSONB,
			parent     TEXT NOT NULL DEFAULT '',
			data_ref   TEXT NOT NULL DEFAULT '',
			data_hash  TEXT NOT NULL DEFAULT '',
			card       TEXT NOT NULL DEFAULT '',
			state      TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			created_by TEXT NOT NULL DEFAULT '',
			UNIQUE (model, version)
		)`,
		`CREATE INDEX versions_digest ON versions (digest)`,
		`CREATE TABLE aliases (
			model      TEXT COLLATE "C" NOT NULL,
			name       TEXT COLLATE "C" NOT NULL,
			version    TEXT COLLATE "C" NOT NULL,
			updated_at BIGINT NOT NULL,
			updated_by TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (model, name),
			FOREIGN KEY (model, version) REFERENCES versions (model, version) ON DELETE RESTRICT
		)`,
		`CREATE INDEX aliases_version ON aliases (model, version)`,
		// No foreign keys: history outlives the aliases and versions it names.
		`CREATE TABLE alias_history (
			id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			model        TEXT COLLATE "C" NOT NULL,
			alias        TEXT COLLATE "C" NOT NULL,
			from_version TEXT NOT NULL DEFAULT '',
			to_version   TEXT NOT NULL DEFAULT '',
			actor        TEXT NOT NULL DEFAULT '',
			reason       TEXT NOT NULL DEFAULT '',
			at           BIGINT NOT NULL
		)`,
		`CREATE INDEX alias_history_alias ON alias_history (model, alias)`,
	},
}, {
	Version: 2,
	Name:    "create routes and route history",
	Statements: []string{
		`CREATE TABLE routes (
			model      TEXT COLLATE "C" PRIMARY KEY REFERENCES models (name) ON DELETE CASCADE,
			policy     JSONB NOT NULL,
			updated_at BIGINT NOT NULL,
			updated_by TEXT NOT NULL DEFAULT '',
			reason     TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE TABLE route_history (
			id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			model  TEXT COLLATE "C" NOT NULL,
			policy JSONB,
			actor  TEXT NOT NULL DEFAULT '',
			reason TEXT NOT NULL DEFAULT '',
			at     BIGINT NOT NULL
		)`,
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
			id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			model        TEXT COLLATE "C" NOT NULL REFERENCES models (name) ON DELETE CASCADE,
			candidate    TEXT NOT NULL,
			baseline     TEXT NOT NULL DEFAULT '',
			baseline_ref TEXT NOT NULL DEFAULT '',
			strategy     TEXT NOT NULL DEFAULT '',
			spec         TEXT NOT NULL DEFAULT '',
			status       TEXT NOT NULL,
			live         BOOLEAN NOT NULL,
			step         INTEGER NOT NULL,
			step_started BIGINT,
			paused_at    BIGINT,
			previous     TEXT NOT NULL DEFAULT '',
			reason       TEXT NOT NULL DEFAULT '',
			applied      BOOLEAN NOT NULL,
			rev          BIGINT NOT NULL,
			created_by   TEXT NOT NULL DEFAULT '',
			created_at   BIGINT NOT NULL,
			updated_at   BIGINT NOT NULL
		)`,
		`CREATE INDEX rollouts_model ON rollouts (model, id)`,
		`CREATE UNIQUE INDEX rollouts_one_live ON rollouts (model) WHERE live`,
		// seq numbers each rollout's events from 1.
		`CREATE TABLE rollout_events (
			rollout   BIGINT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
			seq       BIGINT NOT NULL,
			at        BIGINT NOT NULL,
			actor     TEXT NOT NULL DEFAULT '',
			kind      TEXT NOT NULL,
			status    TEXT NOT NULL,
			step      INTEGER NOT NULL,
			step_name TEXT NOT NULL DEFAULT '',
			weight    INTEGER NOT NULL,
			reason    TEXT NOT NULL DEFAULT '',
			verdict   JSONB,
			PRIMARY KEY (rollout, seq)
		)`,
		// One row at most; previous is the heartbeat before at.
		`CREATE TABLE controller_heartbeat (
			id       INTEGER PRIMARY KEY CHECK (id = 1),
			at       BIGINT NOT NULL,
			previous BIGINT
		)`,
	},
}, {
	Version: 4,
	Name:    "create gate reports and approvals",
	Statements: []string{
		// Both are append-only and go with their version: deleting the
		// version deletes its reports and approvals.
		`CREATE TABLE gate_reports (
			id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			model   TEXT COLLATE "C" NOT NULL,
			version TEXT COLLATE "C" NOT NULL,
			passed  BOOLEAN NOT NULL,
			report  JSONB NOT NULL,
			actor   TEXT NOT NULL DEFAULT '',
			at      BIGINT NOT NULL,
			FOREIGN KEY (model, version) REFERENCES versions (model, version) ON DELETE CASCADE
		)`,
		`CREATE INDEX gate_reports_version ON gate_reports (model, version, id)`,
		`CREATE TABLE approvals (
			id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			model   TEXT COLLATE "C" NOT NULL,
			version TEXT COLLATE "C" NOT NULL,
			role    TEXT NOT NULL,
			actor   TEXT NOT NULL DEFAULT '',
			note    TEXT NOT NULL DEFAULT '',
			at      BIGINT NOT NULL,
			FOREIGN KEY (model, version) REFERENCES versions (model, version) ON DELETE CASCADE
		)`,
		`CREATE INDEX approvals_version ON approvals (model, version, id)`,
	},
}}
