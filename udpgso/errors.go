package udpgso

import "errors"

// errGSOUnavailable: GSO is not implemented on this operating system.
var errGSOUnavailable = errors.New("udpgso: UDP GSO is only available on Linux")
