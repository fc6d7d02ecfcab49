package sqlstore

import "testing"

func TestNumberParams(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE b = ?", "SELECT a FROM t WHERE b = $1"},
		{"INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
		{"UPDATE t SET name = 'Grüße' WHERE id = ?", "UPDATE t SET name = 'Grüße' WHERE id = $1"},
	}
	for _, tc := range tests {
		if got := numberParams(tc.in); got != tc.want {
			t.Errorf("numberParams(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDialectValidate(t *testing.T) {
	yes := func(error) bool { return true }
	ok := Dialect{Name: "x", IsUniqueViolation: yes, IsForeignKeyViolation: yes,
		Migrations: []Migration{{Version: 1}, {Version: 2}}}
	tests := []struct {
		name    string
		edit    func(d *Dialect)
		wantErr bool
	}{
		{"complete", func(*Dialect) {}, false},
		{"no classifiers", func(d *Dialect) { d.IsUniqueViolation = nil }, true},
		{"no migrations", func(d *Dialect) { d.Migrations = nil }, true},
		{"out of order", func(d *Dialect) { d.Migrations = []Migration{{Version: 2}, {Version: 1}} }, true},
		{"duplicate version", func(d *Dialect) { d.Migrations = []Migration{{Version: 1}, {Version: 1}} }, true},
		{"version zero", func(d *Dialect) { d.Migrations = []Migration{{Version: 0}} }, true},
	}
	for _, tc := range tests {
		d := ok
		tc.edit(&d)
		if err := d.validate(); (err != nil) != tc.wantErr {
			t.Errorf("%s: validate() = %v, want error: %v", tc.name, err, tc.wantErr)
		}
	}
}
