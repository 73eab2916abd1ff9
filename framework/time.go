package framework

import "time"

func nowNano() int64 { return time.Now().UnixNano() }
