package pubsub

// arrayElement returns the element type of a built-in array type (one
// whose output function is array_out, PostgreSQL 15's catalog), or 0 for
// any other type. A test checks it against pg_type.
func arrayElement(oid uint32) uint32 {
	switch oid {
	case 1000:
		return 16 // bool[]
	case 1001:
		return 17 // bytea[]
	case 1002:
		return 18 // char[]
	case 1003:
		return 19 // name[]
	case 1016:
		return 20 // int8[]
	case 1005:
		return 21 // int2[]
	case 1006:
		return 22 // int2vector[]
	case 1007:
		return 23 // int4[]
	case 1008:
		return 24 // regproc[]
	case 1009:
		return 25 // text[]
	case 1028:
		return 26 // oid[]
	case 1010:
		return 27 // tid[]
	case 1011:
		return 28 // xid[]
	case 1012:
		return 29 // cid[]
	case 1013:
		return 30 // oidvector[]
	case 199:
		return 114 // json[]
	case 143:
		return 142 // xml[]
	case 1017:
		return 600 // point[]
	case 1018:
		return 601 // lseg[]
	case 1019:
		return 602 // path[]
	case 1020:
		return 603 // box[]
	case 1027:
		return 604 // polygon[]
	case 629:
		return 628 // line[]
	case 651:
		return 650 // cidr[]
	case 1021:
		return 700 // float4[]
	case 1022:
		return 701 // float8[]
	case 719:
		return 718 // circle[]
	case 775:
		return 774 // macaddr8[]
	case 791:
		return 790 // money[]
	case 1040:
		return 829 // macaddr[]
	case 1041:
		return 869 // inet[]
	case 1034:
		return 1033 // aclitem[]
	case 1014:
		return 1042 // bpchar[]
	case 1015:
		return 1043 // varchar[]
	case 1182:
		return 1082 // date[]
	case 1183:
		return 1083 // time[]
	case 1115:
		return 1114 // timestamp[]
	case 1185:
		return 1184 // timestamptz[]
	case 1187:
		return 1186 // interval[]
	case 1270:
		return 1266 // timetz[]
	case 1561:
		return 1560 // bit[]
	case 1563:
		return 1562 // varbit[]
	case 1231:
		return 1700 // numeric[]
	case 2201:
		return 1790 // refcursor[]
	case 2207:
		return 2202 // regprocedure[]
	case 2208:
		return 2203 // regoper[]
	case 2209:
		return 2204 // regoperator[]
	case 2210:
		return 2205 // regclass[]
	case 2211:
		return 2206 // regtype[]
	case 2287:
		return 2249 // record[]
	case 1263:
		return 2275 // cstring[]
	case 2951:
		return 2950 // uuid[]
	case 2949:
		return 2970 // txid_snapshot[]
	case 3221:
		return 3220 // pg_lsn[]
	case 3643:
		return 3614 // tsvector[]
	case 3645:
		return 3615 // tsquery[]
	case 3644:
		return 3642 // gtsvector[]
	case 3735:
		return 3734 // regconfig[]
	case 3770:
		return 3769 // regdictionary[]
	case 3807:
		return 3802 // jsonb[]
	case 3905:
		return 3904 // int4range[]
	case 3907:
		return 3906 // numrange[]
	case 3909:
		return 3908 // tsrange[]
	case 3911:
		return 3910 // tstzrange[]
	case 3913:
		return 3912 // daterange[]
	case 3927:
		return 3926 // int8range[]
	case 4073:
		return 4072 // jsonpath[]
	case 4090:
		return 4089 // regnamespace[]
	case 4097:
		return 4096 // regrole[]
	case 4192:
		return 4191 // regcollation[]
	case 6150:
		return 4451 // int4multirange[]
	case 6151:
		return 4532 // nummultirange[]
	case 6152:
		return 4533 // tsmultirange[]
	case 6153:
		return 4534 // tstzmultirange[]
	case 6155:
		return 4535 // datemultirange[]
	case 6157:
		return 4536 // int8multirange[]
	case 5039:
		return 5038 // pg_snapshot[]
	case 271:
		return 5069 // xid8[]
	}
	return 0
}

// boxOID is the one built-in element type whose arrays separate elements
// with ';' (pg_type.typdelim), because a box's text has commas.
const boxOID = 603

// arrayDelimiter returns the delimiter between the elements of arrays of
// elem.
func arrayDelimiter(elem uint32) byte {
	if elem == boxOID {
		return ';'
	}
	return ','
}
