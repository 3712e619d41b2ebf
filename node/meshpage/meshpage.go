// Package meshpage renders the mesh page of an edge node (GET /admin/mesh): a self-contained
// HTML document that draws the mesh from GET /admin/topology — nodes grouped by region, links
// with their round trip and load, rooms per node and the relay tree of every track — and polls
// it every PollInterval. Its script and style are embedded in this package and inlined into the
// document, so the page loads nothing but the document itself and the topology it polls; the
// Content-Security-Policy returned with each page allows exactly that.
//
// The page takes its access token from the "token" query parameter of its own URL and sends it
// as "Authorization: Bearer" to the topology endpoint, which it fetches relative to its own URL
// ("topology" next to "mesh"). The package holds no state; every function may be called from
// any goroutine.
package meshpage

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"
)

// PollInterval is how often the page fetches the topology.
const PollInterval = 2 * time.Second

// TokenParam is the query parameter that carries the access token, on the page and its form.
const TokenParam = "token"

// assets are the page templates, style sheet and scripts. embed.FS is read-only.
//
//go:embed assets
var assets embed.FS

// scriptFiles are concatenated in this order into the page's one inline script, inside one
// function scope: format (pure formatting), model (the document as the page draws it), layout
// (pure geometry), graph (the SVG), panels (rooms and trees), app (polling and status).
var scriptFiles = []string{
	"assets/js/format.js",
	"assets/js/model.js",
	"assets/js/layout.js",
	"assets/js/graph.js",
	"assets/js/panels.js",
	"assets/js/app.js",
}

// Page is one rendered document.
type Page struct {
	// HTML is the complete document, script and style inline.
	HTML []byte
	// CSP is the Content-Security-Policy to serve it with: nothing is loaded but the inline
	// script and style (by hash), same-origin fetches, and inline data: images (the favicon).
	CSP string
}

// pageData is what the templates see.
type pageData struct {
	Style        template.CSS
	Script       template.JS
	Error        string
	TokenParam   string
	PollInterval string
}

// Mesh renders the mesh page.
func Mesh() (Page, error) {
	script, err := readScript()
	if err != nil {
		return Page{}, err
	}
	return render("assets/mesh.html", pageData{Script: template.JS(script)})
}

// Login renders the sign-in form, which asks for an access token (with roomList or roomAdmin)
// and opens the mesh page with it. reason, when not empty, says why the last token was refused.
func Login(reason string) (Page, error) {
	return render("assets/login.html", pageData{Error: reason})
}

// render executes the named template with the shared style sheet and builds the policy from
// the exact inline script and style text, as the browser hashes it.
func render(name string, data pageData) (Page, error) {
	style, err := assets.ReadFile("assets/style.css")
	if err != nil {
		return Page{}, fmt.Errorf("meshpage: %w", err)
	}
	data.Style = template.CSS(style)
	data.TokenParam = TokenParam
	data.PollInterval = strconv.FormatInt(PollInterval.Milliseconds(), 10)
	tmpl, err := template.ParseFS(assets, name)
	if err != nil {
		return Page{}, fmt.Errorf("meshpage: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return Page{}, fmt.Errorf("meshpage: %s: %w", name, err)
	}
	return Page{HTML: buf.Bytes(), CSP: policy(string(data.Script), string(data.Style))}, nil
}

// readScript concatenates the scripts into one strict-mode function scope.
func readScript() (string, error) {
	var b strings.Builder
	b.WriteString("(() => {\n'use strict';\n")
	for _, f := range scriptFiles {
		src, err := assets.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("meshpage: %w", err)
		}
		b.Write(src)
		b.WriteString("\n")
	}
	b.WriteString("})();\n")
	return b.String(), nil
}

// policy is the Content-Security-Policy of a page with the given inline script (none when
// empty) and style.
func policy(script, style string) string {
	scriptSrc := "'none'"
	if script != "" {
		scriptSrc = hashSource(script)
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + scriptSrc,
		"style-src " + hashSource(style),
		"connect-src 'self'",
		"img-src data:",
		"form-action 'self'",
		"base-uri 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// hashSource is the CSP hash source of an inline element's text.
func hashSource(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
