package meshpage

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	inlineStyle  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	attrURL      = regexp.MustCompile(`\s(?:src|href|action)="([^"]*)"`)
)

// only returns the one submatch of re in s, failing when there is not exactly one match.
func only(t *testing.T, re *regexp.Regexp, s string) string {
	t.Helper()
	m := re.FindAllStringSubmatch(s, -1)
	require.Len(t, m, 1, "matches of %s", re)
	return m[0][1]
}

func TestPolicyAllowsExactlyTheInlineAssets(t *testing.T) {
	mesh, err := Mesh()
	require.NoError(t, err)
	login, err := Login("")
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		page   Page
		script bool
	}{{"mesh", mesh, true}, {"login", login, false}} {
		t.Run(tc.name, func(t *testing.T) {
			html := string(tc.page.HTML)
			require.Contains(t, tc.page.CSP, "style-src "+hashSource(only(t, inlineStyle, html))+";")
			if tc.script {
				require.Contains(t, tc.page.CSP, "script-src "+hashSource(only(t, inlineScript, html))+";")
			} else {
				require.NotContains(t, html, "<script")
				require.Contains(t, tc.page.CSP, "script-src 'none';")
			}
			for _, directive := range []string{"default-src 'none'", "connect-src 'self'", "img-src data:",
				"form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'"} {
				require.Contains(t, tc.page.CSP, directive)
			}
			require.NotContains(t, tc.page.CSP, "unsafe")
		})
	}
}

func TestMeshPageInlinesEveryAsset(t *testing.T) {
	page, err := Mesh()
	require.NoError(t, err)
	html := string(page.HTML)
	script := only(t, inlineScript, html)
	for _, f := range scriptFiles {
		src, err := assets.ReadFile(f)
		require.NoError(t, err)
		require.Contains(t, script, string(src), "%s is inlined verbatim", f)
	}
	style, err := assets.ReadFile("assets/style.css")
	require.NoError(t, err)
	require.Equal(t, string(style), only(t, inlineStyle, html))
	require.Contains(t, html, `id="graph"`)
	require.Contains(t, html, `data-poll-ms="2000"`)
	require.Contains(t, html, `data-token-param="token"`)
}

func TestPagesLoadNothingElse(t *testing.T) {
	mesh, err := Mesh()
	require.NoError(t, err)
	login, err := Login("")
	require.NoError(t, err)
	for _, html := range []string{string(mesh.HTML), string(login.HTML)} {
		for _, m := range attrURL.FindAllStringSubmatch(html, -1) {
			u := m[1]
			require.True(t, u == "mesh" || u == "data:,", "URL %q in a page: only the page itself and inline data", u)
		}
	}
	style, err := assets.ReadFile("assets/style.css")
	require.NoError(t, err)
	require.NotContains(t, string(style), "url(")
	require.NotContains(t, string(style), "@import")
	script, err := readScript()
	require.NoError(t, err)
	// The only absolute URL in the script is the SVG namespace, which is a name, never loaded.
	require.Equal(t, 1, strings.Count(script, "http"), "absolute URLs in the script")
	require.Contains(t, script, "'http://www.w3.org/2000/svg'")
	require.NotContains(t, script, "</script", "the inline script must not close its element")
	require.Contains(t, script, "fetch('topology'")
}

func TestLoginShowsTheReasonEscaped(t *testing.T) {
	plain, err := Login("")
	require.NoError(t, err)
	require.NotContains(t, string(plain.HTML), "Token refused")
	require.Contains(t, string(plain.HTML), `name="token"`)

	page, err := Login(`permission denied <img src=x onerror=alert(1)>`)
	require.NoError(t, err)
	html := string(page.HTML)
	require.Contains(t, html, "Token refused: permission denied &lt;img src=x onerror=alert(1)&gt;")
	require.NotContains(t, html, "<img")
}
