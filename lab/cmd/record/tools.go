package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// tool is a program the recorder runs, and the Debian package that installs it.
type tool struct {
	name, pkg string
	paths     []string // tried when name is not on PATH
}

var (
	curlTool    = tool{name: "curl", pkg: "curl"}
	opensslTool = tool{name: "openssl", pkg: "openssl"}
	nginxTool   = tool{name: "nginx", pkg: "nginx-light", paths: []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"}}
	javaTool    = tool{name: "java", pkg: "openjdk-17-jdk-headless"}
	javacTool   = tool{name: "javac", pkg: "openjdk-17-jdk-headless"}
	keytoolTool = tool{name: "keytool", pkg: "openjdk-17-jdk-headless"}
	goTool      = tool{name: "go", pkg: "golang-go", paths: []string{filepath.Join(runtime.GOROOT(), "bin", "go")}}
	nodeTool    = tool{name: "node", pkg: "nodejs"}
	pythonTool  = tool{name: "python3", pkg: "python3"}
)

// needs lists the programs each system runs. openssl and nginx are also lab peers (servers),
// so every run needs them.
var needs = map[string][]tool{
	"curl":    {curlTool},
	"openssl": {opensslTool},
	"java":    {javaTool, javacTool, keytoolTool},
	"go":      {goTool},
	"node":    {nodeTool},
	"python":  {pythonTool},
	"nginx":   {nginxTool, curlTool},
	"":        {opensslTool, nginxTool},
}

// find returns the program's path.
func (t tool) find() (string, error) {
	if p, err := exec.LookPath(t.name); err == nil {
		return p, nil
	}
	for _, p := range t.paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not installed", t.name)
}

// findTools returns the path of every program the selected systems run, or an error naming
// each missing program and the Debian packages that install them.
func findTools(systems map[string]bool) (map[string]string, error) {
	paths := map[string]string{}
	var missing []string
	pkgs := map[string]bool{}
	for sys, ts := range needs {
		if sys != "" && !systems[sys] {
			continue
		}
		for _, t := range ts {
			if _, ok := paths[t.name]; ok {
				continue
			}
			p, err := t.find()
			if err != nil {
				if !pkgs[t.pkg] {
					missing = append(missing, fmt.Sprintf("%s (Debian package %s)", t.name, t.pkg))
				}
				pkgs[t.pkg] = true
				paths[t.name] = ""
				continue
			}
			paths[t.name] = p
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		var list []string
		for p := range pkgs {
			list = append(list, p)
		}
		sort.Strings(list)
		return nil, &hintError{
			err:  errors.New("missing programs: " + strings.Join(missing, ", ")),
			hint: "apt-get install " + strings.Join(list, " ") + ", or leave their systems out with -systems",
		}
	}
	return paths, nil
}
