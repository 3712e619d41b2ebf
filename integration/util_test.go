package integration

import (
	"fmt"
	"strings"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func joinLines(lines []string) string { return "  " + strings.Join(lines, "\n  ") }
