package schema

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// CompileOptions configure the reference compiler run on a text schema.
type CompileOptions struct {
	// ImportPaths are searched for included (.fbs) or imported (.capnp) files.
	ImportPaths []string
	// NoStandardImport stops capnp from searching /usr/include and
	// /usr/local/include (capnp's --no-standard-import).
	NoStandardImport bool
	// Dir is the directory the compiler runs in (default: the current one);
	// relative paths are resolved from there. Cap'n Proto type names start
	// with capnp's display name of the file: its path relative to Dir when
	// the file is under Dir, else its absolute path without the leading
	// "/". Run from the schema's own folder (Dir) for names like
	// "mission.capnp:Mission"; type ids do not depend on it.
	Dir string
}

// CompileFBS compiles a .fbs file with flatc (`flatc -b --schema
// --bfbs-builtins`) and loads
// the result. Loading a .bfbs with LoadBFBS needs no compiler.
func CompileFBS(path string, opts *CompileOptions) (*Schema, error) {
	if err := schemaFile(path, opts); err != nil {
		return nil, err
	}
	flatc, err := exec.LookPath("flatc")
	if err != nil {
		return nil, errors.New("schema: compiling a .fbs file needs the FlatBuffers compiler `flatc` on PATH " +
			"(Debian/Ubuntu: apt-get install flatbuffers-compiler), or load a binary schema made by `flatc -b --schema` with LoadBFBS")
	}
	dir, err := os.MkdirTemp("", "crossbuf-fbs-")
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	defer os.RemoveAll(dir)
	// --bfbs-builtins keeps attributes such as bit_flags and nested_flatbuffer.
	args := []string{"-b", "--schema", "--bfbs-builtins", "-o", dir}
	if opts != nil {
		for _, p := range opts.ImportPaths {
			args = append(args, "-I", p)
		}
	}
	args = append(args, path)
	if _, err := run(flatc, args, opts); err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	b, err := os.ReadFile(filepath.Join(dir, base+".bfbs"))
	if err != nil {
		return nil, fmt.Errorf("schema: flatc wrote no binary schema for %s: %w", path, err)
	}
	return LoadBFBS(b)
}

// CompileCapnp compiles a .capnp file with the capnp tool (`capnp compile
// -o-`) and loads the CodeGeneratorRequest it writes.
func CompileCapnp(path string, opts *CompileOptions) (*Schema, error) {
	req, err := CompileCapnpRequest(path, opts)
	if err != nil {
		return nil, err
	}
	return LoadCapnpRequest(req)
}

// CompileCapnpRequest runs `capnp compile -o-` on a .capnp file and returns
// the CodeGeneratorRequest bytes.
func CompileCapnpRequest(path string, opts *CompileOptions) ([]byte, error) {
	if err := schemaFile(path, opts); err != nil {
		return nil, err
	}
	capnp, err := exec.LookPath("capnp")
	if err != nil {
		return nil, errors.New("schema: compiling a .capnp file needs the Cap'n Proto tool `capnp` on PATH " +
			"(Debian/Ubuntu: apt-get install capnproto), or load the bytes `capnp compile -o-` writes with LoadCapnpRequest")
	}
	args := []string{"compile", "-o-"}
	if opts != nil {
		if opts.NoStandardImport {
			args = append(args, "--no-standard-import")
		}
		for _, p := range opts.ImportPaths {
			args = append(args, "-I", p)
		}
	}
	args = append(args, path)
	return run(capnp, args, opts)
}

// schemaFile checks that path (relative to opts.Dir) is a regular file
// before a compiler is run on it: a compiler's reply to a missing file is
// its usage text. A missing file's error wraps fs.ErrNotExist.
func schemaFile(path string, opts *CompileOptions) error {
	full := path
	if opts != nil && opts.Dir != "" && !filepath.IsAbs(path) {
		full = filepath.Join(opts.Dir, path)
	}
	st, err := os.Stat(full)
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("schema: %s is not a regular file", full)
	}
	return nil
}

func run(name string, args []string, opts *CompileOptions) ([]byte, error) {
	cmd := exec.Command(name, args...)
	if opts != nil {
		cmd.Dir = opts.Dir
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("schema: %s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()))
	}
	return out.Bytes(), nil
}
