package udpgso

import "errors"

// errGSOUnavailable: this operating system has no UDP GSO; held datagrams go one by one.
var errGSOUnavailable = errors.New("udpgso: UDP GSO is only available on Linux")
